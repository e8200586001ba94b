"""The sentences a manager reads when a look-up fails: stored on the run and shown on the MS AAD page."""
from __future__ import annotations

NOTHING_CHANGED = "Nothing in the Company Directory was changed."

SENTENCES = {
    "wrong_secret": (
        "Microsoft rejected the Secret Code (AADSTS7000215): it is not a valid secret value of this app. In the "
        "Azure portal, open the app registration's Certificates & secrets, copy the secret's Value (not its "
        "Secret ID), then click Modify on this page, paste it into Secret Code and save."
    ),
    "expired_secret": (
        "The Secret Code has expired (AADSTS7000222). In the Azure portal, add a new client secret to the app "
        "registration (Certificates & secrets), then click Modify on this page, paste its Value into Secret "
        "Code and save."
    ),
    "unknown_client": (
        "Microsoft found no app with this Client ID in the tenant (AADSTS700016). Compare the Client ID with "
        "the Application (client) ID on the app registration's Overview page in the Azure portal, and check "
        "that the app is registered in this tenant."
    ),
    "unknown_tenant": (
        "Microsoft found no tenant with this Tenant ID (AADSTS90002). Compare the Tenant ID with the Directory "
        "(tenant) ID on the app registration's Overview page in the Azure portal."
    ),
    "permission_missing": (
        "The app is not allowed to read users: the Microsoft Graph application permission User.Read.All is "
        "missing or has no admin consent. In the Azure portal, open the app registration's API permissions, add "
        "Microsoft Graph > Application permissions > User.Read.All, and click \u201cGrant admin consent\u201d."
    ),
    "throttled": (
        "Microsoft kept throttling the look-up (HTTP 429, too many requests) through {retries} retries over "
        "{seconds} seconds. The next scheduled look-up will try again; to try sooner, click One-time Sync in a "
        "few minutes."
    ),
    "group_permission_missing": (
        "The app is not allowed to read groups: the Microsoft Graph application permission GroupMember.Read.All (or "
        "Group.Read.All) is missing or has no admin consent. In the Azure portal, open the app registration's API "
        "permissions, add Microsoft Graph > Application permissions > GroupMember.Read.All, and click \u201cGrant "
        "admin consent\u201d; or set the look-up scope back to All users."
    ),
    "groups_need_settings": (
        "Save the Tenant ID, Client ID and Secret Code first, then choose the groups: the portal asks Microsoft for "
        "them with the saved app registration."
    ),
    "group_not_found": (
        "Microsoft found no group {group} in the tenant (it was deleted, or its object ID is wrong). Click Modify, "
        "remove it from the look-up's groups or pick it again, and save."
    ),
    "throttled_past_limit": (
        "Microsoft is throttling the look-up (HTTP 429, too many requests) and asked it to wait {seconds} seconds "
        "more, longer than the {left} seconds left before the look-up's time limit. The next scheduled look-up "
        "will try again; if this keeps happening, ask the operator to raise AAD_SYNC_TIME_LIMIT."
    ),
    "unavailable": (
        "Microsoft Graph kept answering with server errors (HTTP {status}) through {retries} retries. "
        "Microsoft's service may be down: try again later."
    ),
    "login_unavailable": (
        "Microsoft's sign-in service answered with a server error ({detail}). Microsoft's service may be down: "
        "try again later."
    ),
    "unreachable": (
        "Microsoft could not be reached ({host}: {why}). Check this server's internet connection, firewall or "
        "proxy, then try again."
    ),
    "malformed": (
        "Microsoft Graph sent a page of users that is not valid JSON (page {page}). Try again later; if it "
        "happens again, contact support."
    ),
    "nextlink_loop": (
        "Microsoft Graph sent a next-page link that was already read (page {page}), so the listing would "
        "never end. Try again later; if it happens again, contact support."
    ),
    "foreign_link": (
        "Microsoft Graph sent a next-page link to another address ({host}); the look-up stopped rather than "
        "send the app's access token there. Contact support."
    ),
    "token_rejected": (
        "Microsoft Graph did not accept the app's access token (HTTP 401, {detail}). Check that the app "
        "registration belongs to this tenant, then try again."
    ),
    "token_failed": (
        "Microsoft refused to let the app sign in ({detail}). Check the Tenant ID, Client ID and Secret Code "
        "against the app registration in the Azure portal."
    ),
    "graph_failed": (
        "Microsoft Graph refused to list the users (HTTP {status}, {detail}). Check the app registration in "
        "the Azure portal; if this goes on, contact support."
    ),
    "bad_authority": (
        "The Microsoft sign-in address configured for this portal ({host}) is not usable. Ask the portal's "
        "operator to check AAD_AUTHORITY_HOST."
    ),
    "delta_expired": (
        "Microsoft no longer accepts the saved change position (it expires after about 7 days without a "
        "look-up), so this look-up read the full listing instead."
    ),
    "not_configured": (
        "The MS AAD settings are incomplete: click Modify, enter the Tenant ID, Client ID and Secret Code, "
        "save, and run the look-up again."
    ),
    "secret_unreadable": (
        "The stored Secret Code can no longer be decrypted (the portal's encryption key changed). Click Modify, "
        "paste the Secret Code again and save."
    ),
    "database": (
        "The portal's database failed during the look-up (the connection to it was lost, or it could not take "
        "the writes), so the look-up stopped and undid what it had read. The next scheduled look-up will try "
        "again; to try sooner, click One-time Sync in a few minutes. If it keeps happening, ask the operator to "
        "check the database."
    ),
    "died": (
        "The look-up stopped without finishing: its worker was stopped or lost, or could not reach the database to "
        "record how it ended, and after {minutes} minutes it was marked failed. The directory was left as it was; "
        "the next look-up runs as scheduled, or click One-time Sync."
    ),
    "never_started": (
        "The look-up waited more than {minutes} minutes for a worker and was given up. Check that the Celery worker "
        "is running, then click One-time Sync."
    ),
    "not_queued": (
        "The look-up could not be queued because the task queue (Celery broker) is unreachable. "
        "Try One-time Sync again in a minute; if it keeps failing, ask the operator to check the broker."
    ),
    "timed_out": (
        "The look-up took longer than {minutes} minutes and was stopped; the directory was left as it was. "
        "Try again later; if it keeps happening, ask the operator to raise AAD_SYNC_TIME_LIMIT."
    ),
    "not_use": "Not run: User Look-Up Usage was set to Not Use before this scheduled look-up started.",
    "check_busy": (
        "Microsoft is answering with {what} right now, so it could not say whether these settings work. Try again "
        "in a few minutes."
    ),
    "internal": (
        "The look-up stopped on an internal error of the portal (run {run}); the operators can find it in the "
        "log. Try again later."
    ),
}


class SyncError(Exception):
    """A failure a manager can act on: `str(error)` is the sentence, `code` names the case (a SENTENCES key)."""

    def __init__(self, code: str, **details):
        self.code = code
        self.details = details
        super().__init__(SENTENCES[code].format(**details))

    @property
    def sentence(self) -> str:
        return str(self)


def minutes(seconds: float) -> str:
    """Seconds as minutes for a sentence: 660 -> "11", 9 -> "0.15"."""
    return f"{seconds / 60:g}"


def redact(text: str, *secrets: str) -> str:
    """`text` with every given secret replaced, for any text that came from outside (defence in depth)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[secret]")
    return text
