"""The invoice as a PDF, drawn with fpdf2 (pure Python, no browser). It says what the printable page says,
in the active language.

Text is set in DejaVu Sans when the font is installed (Debian: fonts-dejavu-core), so any name prints;
without it the PDF falls back to the built-in Helvetica with Windows-1252, where characters outside that
set become "?".
"""

from pathlib import Path

from django.conf import settings
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_countries.fields import Country
from fpdf import FPDF
from fpdf.fonts import FontFace

from .company import company_details
from .models import Invoice
from .templatetags.billing import euro

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu")]
MUTED = (102, 112, 133)


def _find_font_dir() -> Path | None:
    for folder in FONT_DIRS:
        if (folder / "DejaVuSans.ttf").exists() and (folder / "DejaVuSans-Bold.ttf").exists():
            return folder
    return None


class InvoicePDF(FPDF):
    def __init__(self):
        super().__init__(format="A4")
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=16)
        font_dir = _find_font_dir()
        if font_dir is not None:
            self.add_font("body", "", font_dir / "DejaVuSans.ttf")
            self.add_font("body", "B", font_dir / "DejaVuSans-Bold.ttf")
            self.family = "body"
        else:
            self.core_fonts_encoding = "windows-1252"
            self.family = "helvetica"

    def text_safe(self, text: str) -> str:
        if self.family == "body":
            return text
        return text.encode("windows-1252", errors="replace").decode("windows-1252")

    def write_line(self, text: str, *, size: float = 10, bold: bool = False, color=(29, 35, 48), height=5):
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*color)
        self.multi_cell(0, height, self.text_safe(text), new_x="LMARGIN", new_y="NEXT")


def render_invoice_pdf(invoice: Invoice) -> bytes:
    pdf = InvoicePDF()
    title = _("Credit invoice") if invoice.is_credit else _("Invoice")
    pdf.set_title(f"{title} {invoice.number}")
    pdf.set_author(settings.COMPANY_NAME)
    pdf.set_subject(pdf.text_safe(invoice.billed_name))
    pdf.add_page()
    _draw_header(pdf, invoice, title)
    _draw_parties(pdf, invoice)
    _draw_lines(pdf, invoice)
    _draw_footer(pdf, invoice)
    return bytes(pdf.output())


def _draw_header(pdf: InvoicePDF, invoice: Invoice, title: str) -> None:
    company = company_details()
    pdf.write_line(f"{title} {invoice.number}", size=18, bold=True, height=9)
    pdf.write_line(str(invoice.display_status_label), size=9, color=MUTED)
    pdf.ln(3)
    pdf.write_line(company["name"], bold=True)
    pdf.write_line(company["address"], color=MUTED)
    pdf.write_line(f"{_('VAT number')}: {company['vat_number']}", color=MUTED)
    if company["coc_number"]:
        pdf.write_line(f"{_('Chamber of Commerce')}: {company['coc_number']}", color=MUTED)
    if company["iban"]:
        pdf.write_line(f"IBAN: {company['iban']}", color=MUTED)
    pdf.ln(5)


def _draw_parties(pdf: InvoicePDF, invoice: Invoice) -> None:
    pdf.write_line(_("Billed to"), size=9, color=MUTED)
    pdf.write_line(invoice.billed_name, bold=True)
    pdf.write_line(invoice.billed_address)
    pdf.write_line(f"{invoice.billed_postal_code} {invoice.billed_city}")
    pdf.write_line(str(Country(invoice.billed_country).name))
    if invoice.billed_vat_number:
        pdf.write_line(f"{_('VAT number')}: {invoice.billed_vat_number}")
    pdf.ln(4)
    facts = [
        (_("Invoice date"), date_format(invoice.issued_at, "DATE_FORMAT")),
        (
            _("Period"),
            f"{date_format(invoice.period_start, 'DATE_FORMAT')} – {date_format(invoice.period_end, 'DATE_FORMAT')}",
        ),
    ]
    if invoice.is_credit:
        facts.append((_("Credit for"), invoice.credit_for.number))
        if invoice.credit_reason:
            facts.append((_("Reason"), invoice.credit_reason))
    else:
        facts.append((_("Due date"), date_format(invoice.due_date, "DATE_FORMAT")))
    if invoice.paid_at:
        facts.append((_("Paid on"), date_format(invoice.paid_at, "DATE_FORMAT")))
    for credit in invoice.credit_invoices.issued():
        facts.append((_("Credited by"), credit.number))
    for label, value in facts:
        pdf.write_line(f"{label}: {value}")
    pdf.ln(5)


def _draw_lines(pdf: InvoicePDF, invoice: Invoice) -> None:
    pdf.set_font(pdf.family, "", 9.5)
    pdf.set_text_color(29, 35, 48)
    headings = FontFace(emphasis="BOLD", fill_color=(244, 246, 249))
    with pdf.table(
        col_widths=(50, 12, 20, 18),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=headings,
        line_height=6,
        padding=1.5,
    ) as table:
        _row(pdf, table, [_("Description"), _("Days"), _("Price per month"), _("Amount")])
        for line in invoice.lines.all():
            description = _("Plan %(plan)s") % {"plan": line.description}
            period = f"{date_format(line.period_start, 'SHORT_DATE_FORMAT')} – {date_format(line.period_end, 'SHORT_DATE_FORMAT')}"
            days = _("%(days)s of %(month_days)s") % {"days": line.days, "month_days": line.days_in_month}
            _row(pdf, table, [f"{description}\n{period}", days, euro(line.unit_price), euro(line.amount)])
        _row(pdf, table, [_("Total excl. VAT"), "", "", euro(invoice.total_excl_vat)])
        vat_label = (
            f"{_('VAT reverse-charged')} (0%)"
            if invoice.reverse_charge
            else f"{_('VAT')} {invoice.vat_percent}%"
        )
        _row(pdf, table, [vat_label, "", "", euro(invoice.vat_amount)])
        _row(pdf, table, [_("Total incl. VAT"), "", "", euro(invoice.total_incl_vat)], bold=True)
    pdf.ln(4)


def _row(pdf: InvoicePDF, table, cells: list[str], *, bold: bool = False) -> None:
    row = table.row()
    for text in cells:
        row.cell(pdf.text_safe(text), style=FontFace(emphasis="BOLD") if bold else None)


def _draw_footer(pdf: InvoicePDF, invoice: Invoice) -> None:
    if invoice.reverse_charge:
        pdf.write_line(str(invoice.legal_note))
        pdf.ln(2)
    if invoice.status == Invoice.Status.OPEN and invoice.total_incl_vat > 0:
        pdf.write_line(
            _("Please pay %(total)s by %(due)s, mentioning %(number)s.")
            % {
                "total": euro(invoice.total_incl_vat),
                "due": date_format(invoice.due_date, "DATE_FORMAT"),
                "number": invoice.number,
            }
        )
        company = company_details()
        if company["iban"]:
            pdf.write_line(
                _("Our account: IBAN %(iban)s (%(name)s)")
                % {"iban": company["iban"], "name": company["name"]}
            )
