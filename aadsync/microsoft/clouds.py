"""Microsoft's clouds: the sign-in host, the Graph host and the scopes that go together (national-cloud tables).

Every scope, `.default` included, names the cloud's own Graph host: a GCC High tenant asks for
`https://graph.microsoft.us/.default`, never `https://graph.microsoft.com/.default`. AAD_AUTHORITY_HOST and
GRAPH_API_URL may point the hosts elsewhere (a proxy, the fake Microsoft), but never change the scopes.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Cloud:
    key: str
    label: str
    authority_host: str  # where tokens and sign-in come from
    graph_host: str  # Graph's origin: requests go to {graph_host}/v1.0, scopes are {graph_host}/...

    @property
    def graph_url(self) -> str:
        return f"{self.graph_host}/v1.0"

    def scope(self, name: str) -> str:
        """A Graph scope of this cloud: scope(".default") for the app's permissions, scope("User.Read")."""
        return f"{self.graph_host}/{name}"


CLOUDS = {cloud.key: cloud for cloud in (
    Cloud("global", "Microsoft Entra ID (global)", "https://login.microsoftonline.com", "https://graph.microsoft.com"),
    Cloud("usgov", "Microsoft Entra ID for US Government (GCC High, L4)", "https://login.microsoftonline.us",
          "https://graph.microsoft.us"),
    Cloud("dod", "Microsoft Entra ID for US Government (DoD, L5)", "https://login.microsoftonline.us",
          "https://dod-graph.microsoft.us"),
    Cloud("china", "Microsoft Entra ID operated by 21Vianet (China)", "https://login.chinacloudapi.cn",
          "https://microsoftgraph.chinacloudapi.cn"),
)}


def current_cloud() -> Cloud:
    """The cloud this portal talks to (AAD_CLOUD); checked at start-up by aadsync.checks."""
    return CLOUDS[settings.AAD_CLOUD]
