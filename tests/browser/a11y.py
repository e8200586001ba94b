"""check_page(page, name): axe-core's WCAG 2.1 A/AA rules and a horizontal-overflow check on what the page shows now.

Use it in any browser test, after the page reached the state to check (a dialog open, errors shown, ...):

    from tests.browser.a11y import PHONE, check_page

    def test_my_new_page(page, login_as, manager):
        login_as(manager, PASSWORD)
        page.goto("/my/new/page/")
        check_page(page, "my-new-page")            # at the test's viewport (the `page` fixture: 1280x900)
        page.set_viewport_size(PHONE)
        check_page(page, "my-new-page-phone")      # and as a phone shows it

A new page should also be added to tests/browser/test_every_page.py, which walks every page state at 1366x768 and
390x844. axe-core is vendored (tests/browser/vendor/axe.min.js, MPL-2.0) and evaluated through the DevTools
protocol, so the page's Content-Security-Policy (no inline script) stays as strict as in production.
"""
from __future__ import annotations

from pathlib import Path

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
RULE_SETS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# axe's best practices the portal also keeps: one main landmark, all content in landmarks, a working skip link.
EXTRA_RULES = ["landmark-one-main", "region", "skip-link", "landmark-unique", "landmark-no-duplicate-main"]
# Checks axe leaves "to review" that are certain here: a field named by two labels, an aria-label on a plain span.
STRICT_INCOMPLETE = ["form-field-multiple-labels", "aria-prohibited-attr"]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SIZES = {"desktop": DESKTOP, "phone": PHONE}

_RUN_AXE = """async ([ruleSets, extraRules, strictIncomplete]) => {
  const result = await window.axe.run(document, {runOnly: {type: 'tag', values: ruleSets}, rules: extraRules});
  const undecided = result.incomplete.filter((v) => strictIncomplete.includes(v.id));
  return result.violations.concat(undecided).map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(' '), summary: n.failureSummary})),
  }));
}"""

_OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [];
  if (document.documentElement.scrollWidth > width) {
    for (const node of document.body.querySelectorAll('*')) {
      const box = node.getBoundingClientRect();
      const style = getComputedStyle(node);
      const spills = style.overflowX === 'visible' && node.scrollWidth > node.clientWidth + 1 && node.clientWidth > 0
        && box.left + node.scrollWidth > width + 1;  // its text runs out of its box (a long unbroken word)
      if ((box.right > width + 1 || spills) && box.width > 0 && style.visibility !== 'hidden') {
        wide.push(`${node.tagName.toLowerCase()}${node.id ? '#' + node.id : ''}.${[...node.classList].join('.')} `
                  + `right=${Math.round(Math.max(box.right, box.left + node.scrollWidth))}`);
      }
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, wide: wide.slice(0, 8)};
}"""


# Boxes that scroll sideways inside the page (a table in .table-responsive wider than the screen): allowed on
# desktops, where a wide table may scroll in its labelled region, not on a phone, where tables become cards.
_SCROLLERS = """() => [...document.body.querySelectorAll('*')].filter(node => {
  const overflow = getComputedStyle(node).overflowX;
  return (overflow === 'auto' || overflow === 'scroll') && node.scrollWidth > node.clientWidth + 1;
}).map(node => `${node.tagName.toLowerCase()}.${[...node.classList].join('.')} ${node.scrollWidth}>${node.clientWidth}`
       + ` (${(node.getAttribute('aria-label') || node.textContent.trim()).slice(0, 40)})`)"""
PHONE_WIDTH = 576  # narrower than this, nothing scrolls sideways


def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now (empty when there are none)."""
    if not page.evaluate("() => Boolean(window.axe)"):
        # page.evaluate runs through the DevTools protocol, which the page's CSP does not govern (an injected
        # <script> would be blocked by script-src 'self', as any inline script is).
        page.evaluate(_axe_source())
    return page.evaluate(_RUN_AXE, [RULE_SETS, {rule: {"enabled": True} for rule in EXTRA_RULES}, STRICT_INCOMPLETE])


def horizontal_overflow(page) -> dict | None:
    """None when the page fits its viewport's width; else the widths and the elements that stick out."""
    found = page.evaluate(_OVERFLOW)
    return found if found["scrollWidth"] > found["width"] else None


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.extend(f"    {node['target']}: {node['summary']}".replace("\n", " ") for node in violation["nodes"][:6])
    return "\n".join(lines)


def check_page(page, name: str = "") -> None:
    """Fail when axe-core finds a WCAG 2.1 A/AA violation or the page is wider than its viewport (on a phone: or
    anything in it scrolls sideways)."""
    where = f"{name or page.url} at {page.viewport_size['width']}x{page.viewport_size['height']}"
    # No colour caught half-way through a transition (a button just clicked, the menu unfolding): Bootstrap drops
    # its transitions for people who ask for reduced motion; let the last frame of any running one finish.
    if not getattr(page, "reduced_motion", False):
        page.emulate_media(reduced_motion="reduce")
        page.reduced_motion = True
        page.wait_for_timeout(400)
    violations = axe_violations(page)
    assert not violations, f"axe-core found accessibility violations on {where}:\n{describe(violations)}"
    overflow = horizontal_overflow(page)
    assert overflow is None, (f"{where} scrolls sideways: {overflow['scrollWidth']} px wide in a {overflow['width']} px "
                              f"window; sticking out: {overflow['wide']}")
    if page.viewport_size["width"] < PHONE_WIDTH:
        scrollers = page.evaluate(_SCROLLERS)
        assert not scrollers, f"{where} has boxes that scroll sideways: {scrollers[:5]}"
