"""What `falfake env` exports and `falfake exec` runs with: the variables that send every usual
HTTP stack's calls to fal's hosts to a running fake (README: "Any HTTP stack").

Python's httpx, urllib and aiohttp (with `trust_env=True`) read HTTPS_PROXY and SSL_CERT_FILE;
`requests` reads REQUESTS_CA_BUNDLE and curl CURL_CA_BUNDLE instead; Node reads
NODE_EXTRA_CA_CERTS, honours HTTPS_PROXY only from Node 24 with NODE_USE_ENV_PROXY, and for
older versions (and its WebSocket) gets a preload through NODE_OPTIONS that sends fal's hosts to
FALFAKE_URL.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

PRELOAD = Path(__file__).with_name("node_preload.mjs")
# Media URLs are plain http on the fake's own address: never through the proxy.
LOCAL = "127.0.0.1,localhost,::1"


def variables(base_url: str, bundle: Path, key: str, node_options: str = "") -> dict[str, str]:
    """Every variable, by name; `node_options` (the caller's own) are kept after the preload."""
    ca = str(bundle)
    preload = f"--import={PRELOAD.as_uri()}"
    return {
        "FAL_KEY": key,
        "HTTPS_PROXY": base_url,
        "https_proxy": base_url,
        "SSL_CERT_FILE": ca,
        "REQUESTS_CA_BUNDLE": ca,
        "CURL_CA_BUNDLE": ca,
        "NODE_EXTRA_CA_CERTS": ca,
        "NODE_USE_ENV_PROXY": "1",
        "FALFAKE_URL": base_url,
        "NODE_OPTIONS": f"{preload} {node_options}".strip(),
        "NO_PROXY": LOCAL,
        "no_proxy": LOCAL,
    }


def exports(base_url: str, bundle: Path, key: str) -> str:
    """`export` lines for `eval`; NODE_OPTIONS keeps what the shell already had."""
    lines = []
    for name, value in variables(base_url, bundle, key).items():
        if name == "NODE_OPTIONS":
            lines.append(f'export NODE_OPTIONS="{value}${{NODE_OPTIONS:+ $NODE_OPTIONS}}"')
        else:
            lines.append(f"export {name}={shlex.quote(value)}")
    lines += [
        "# JS (@fal-ai/client) in a browser, where no variable reaches it:",
        f"#   fal.config({{ credentials: {json.dumps(key)}, proxyUrl: {{ url:"
        f' {json.dumps(base_url + "/fal/proxy")}, when: "always" }} }});',
    ]
    return "\n".join(lines) + "\n"
