"""matchaad --company SLUG [--apply]"""
from django.core.management.base import BaseCommand, CommandError

from directory.matching.selectors import NONE, STRONG, Proposal, link_proposals, proposal_counts
from directory.matching.services import LinkChoice, users_link_aad
from directory.models import Company

CANDIDATES_PRINTED = 5


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def _who(proposal: Proposal) -> str:
    return f"{proposal.extension or '-'} {proposal.username}"


def proposal_line(proposal: Proposal) -> str:
    """`<extension> <portal ID> -> <UPN> (strong|name|ambiguous: N candidates)`. An ambiguous proposal lists its
    candidates' UPNs, comma-separated (the first five, then "+N more"); a strong proposal whose account is also
    proposed for another user says so, and --apply leaves it to a manager."""
    if proposal.account is not None:
        kind = proposal.kind
        if proposal.shared_with:
            kind += f", shared with {', '.join(proposal.shared_with)}"
        return f"{_who(proposal)} -> {proposal.account.user_principal_name} ({kind})"
    upns = [candidate.user_principal_name for candidate in proposal.candidates]
    shown = ", ".join(upns[:CANDIDATES_PRINTED])
    if len(upns) > CANDIDATES_PRINTED:
        shown += f", +{len(upns) - CANDIDATES_PRINTED} more"
    return f"{_who(proposal)} -> {shown} (ambiguous: {len(upns)} candidates)"


class Command(BaseCommand):
    help = (
        "List the AAD accounts proposed for the company's phone users without one, as User > Link to AAD accounts "
        "does: one line per proposal, `<extension> <portal ID> -> <UPN> (strong|name|ambiguous: N candidates)` "
        "(ambiguous: the candidates' UPNs, comma-separated), then a summary line. With --apply, link the strong "
        "proposals (e-mail = the account's mail or UPN, no other user proposed the same account) through the same "
        "service as the page, and print what was linked; name and ambiguous proposals are left to a manager. "
        "Exit status 1 when a strong proposal could not be linked."
    )

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="company slug, e.g. cm1-vertical")
        parser.add_argument("--apply", action="store_true", help="link the strong proposals")

    def handle(self, *args, company, apply, **options):
        try:
            company_row = Company.objects.get(slug=company)
        except Company.DoesNotExist:
            raise CommandError(f"No company with slug “{company}”.") from None
        proposals = link_proposals(company=company_row)
        counts = proposal_counts(proposals)
        ready = [proposal for proposal in proposals if proposal.preticked]
        summary = (
            f"{company_row.slug}: {_count(len(proposals), 'phone user')} without an AAD account: "
            f"{counts[STRONG]} strong, {counts['name']} name, {counts['ambiguous']} ambiguous, "
            f"{counts[NONE]} without a proposal."
        )
        if not apply:
            for proposal in proposals:
                if proposal.kind != NONE:
                    self.stdout.write(proposal_line(proposal))
            ready_count = _count(len(ready), "strong proposal")
            self.stdout.write(f"{summary} Nothing was linked; --apply links the {ready_count} that no other user "
                              "shares.")
            return
        by_person = {proposal.person_id: proposal for proposal in ready}
        result = users_link_aad(company=company_row, choices=[
            LinkChoice(person_id=proposal.person_id, object_id=proposal.account.object_id)
            for proposal in ready if proposal.account is not None
        ])
        for person in result.linked:
            self.stdout.write(f"linked {proposal_line(by_person[person.pk])}")
        for failure in result.failed:
            self.stdout.write(f"not linked {_who(by_person[failure.person_id])}: {failure.message}")
        self.stdout.write(
            f"{summary} Linked {len(result.linked)} of the {_count(len(ready), 'strong proposal')}; name, ambiguous "
            "and shared proposals are left for a manager on User > Link to AAD accounts (/users/match/)."
        )
        if result.failed:
            raise CommandError(f"{_count(len(result.failed), 'strong proposal')} could not be linked; see the "
                               "\"not linked\" lines above.")
