"""The Content-Security-Policy of the panel's pages (sent on every response by
`postbode.middleware.ContentSecurityPolicyMiddleware`, unless a view set its own).

Scripts come only from the panel's own files (no script written into a page, no handler attribute), styles
only from its stylesheets (no `<style>` element, no style attribute: a bar's width is a class, `.w-0` to
`.w-100`), nothing in frames or plugins. Text that slipped past the escaping could then neither run nor restyle
the page. No form-action: paying and opening webmail post to the panel, which redirects to the payment provider
or the webmail.
"""

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)

# A page that shows a customer's own HTML e-mail signature as the mail will show it: its style attributes (nh3
# keeps only a short list of properties that change how visible text looks, mailaccounts/services/signatures.py)
# are allowed there; `<style>` elements and scripts are not.
WITH_STYLE_ATTRIBUTES = CONTENT_SECURITY_POLICY + "; style-src-attr 'unsafe-inline'"


def allow_style_attributes(response):
    """`response`, with the policy of a page that previews a customer's HTML signature."""
    response.headers["Content-Security-Policy"] = WITH_STYLE_ATTRIBUTES
    return response


# With DEBUG on (`./dev run`), an error is shown on Django's own debug pages (the traceback, the URL patterns),
# which carry their stylesheet and scripts inside them: an error answer may use inline ones there. Never
# without DEBUG, and never on a page that is not an error.
FOR_DEBUG_ERROR_PAGES = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'unsafe-inline'"
).replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
