"""On PostgreSQL the database itself refuses changes to issued invoices and their lines, so that not even a
queryset.update(), a raw query or a shell session can alter what an issued invoice says.

Payment fields (status except back to draft, paid_at, payment_reference, reminder_sent_at) stay writable.
If a listed column is ever renamed or dropped, update these functions in the same migration.
"""

from django.db import migrations

FROZEN_COLUMNS = [
    "customer_id",
    "number",
    "year",
    "period_start",
    "period_end",
    "issued_at",
    "due_date",
    "credit_for_id",
    "credit_reason",
    "total_excl_vat",
    "vat_rate",
    "vat_amount",
    "total_incl_vat",
    "reverse_charge",
    "billed_name",
    "billed_address",
    "billed_postal_code",
    "billed_city",
    "billed_country",
    "billed_vat_number",
    "created_at",
]

CREATE = f"""
CREATE OR REPLACE FUNCTION billing_refuse_issued_invoice_change() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'draft' THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'invoice % is issued and cannot be deleted', OLD.number USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.status = 'draft'
       OR ({", ".join("NEW." + c for c in FROZEN_COLUMNS)})
          IS DISTINCT FROM ({", ".join("OLD." + c for c in FROZEN_COLUMNS)}) THEN
        RAISE EXCEPTION 'invoice % is issued and cannot be changed', OLD.number USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_immutable_once_issued
    BEFORE UPDATE OR DELETE ON billing_invoice
    FOR EACH ROW EXECUTE FUNCTION billing_refuse_issued_invoice_change();

CREATE OR REPLACE FUNCTION billing_refuse_issued_invoice_line_change() RETURNS trigger AS $$
BEGIN
    IF (TG_OP <> 'INSERT' AND EXISTS (
            SELECT 1 FROM billing_invoice WHERE id = OLD.invoice_id AND status <> 'draft'))
       OR (TG_OP <> 'DELETE' AND EXISTS (
            SELECT 1 FROM billing_invoice WHERE id = NEW.invoice_id AND status <> 'draft')) THEN
        RAISE EXCEPTION 'the lines of an issued invoice cannot be changed' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN COALESCE(NEW, OLD);
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoiceline_immutable_once_issued
    BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
    FOR EACH ROW EXECUTE FUNCTION billing_refuse_issued_invoice_line_change();
"""

DROP = """
DROP TRIGGER IF EXISTS billing_invoiceline_immutable_once_issued ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_refuse_issued_invoice_line_change();
DROP TRIGGER IF EXISTS billing_invoice_immutable_once_issued ON billing_invoice;
DROP FUNCTION IF EXISTS billing_refuse_issued_invoice_change();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_invoices_lines_numbering")]
    operations = [migrations.RunPython(create_triggers, drop_triggers)]
