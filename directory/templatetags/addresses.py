"""breakable: an e-mail or user principal name that a narrow column may wrap after "@" and before each "."."""
from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def breakable(value) -> SafeString:
    """The escaped value with <wbr> (a line-break opportunity, no visible character) after "@" and before ".", so
    "anna.kim@vertical.onmicrosoft.com" wraps as "anna.kim@" / "vertical.onmicrosoft.com", not at a random letter.
    Escaping comes first; "@" and "." never occur in what escaping produces."""
    escaped = str(conditional_escape(value if value is not None else ""))
    return mark_safe(escaped.replace("@", "@<wbr>").replace(".", "<wbr>."))  # noqa: S308 - escaped above
