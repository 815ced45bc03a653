"""Login lockouts through scripts/serve.sh behind one trusted proxy (PROXY_COUNT=1)."""

import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.ops.conftest import write_fake_bundle
from tests.ops.server import ProductionServer

pytestmark = pytest.mark.slow

USER, PASSWORD = "owner", "Owner-pass-8812"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("serve_lockout")
    write_fake_bundle(workdir / "models")
    with ProductionServer(
        workdir, models_dir=workdir / "models", extra_env={"PROXY_COUNT": "1"}
    ) as running:
        running.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            f"get_user_model().objects.create_user('{USER}', password='{PASSWORD}')",
        )
        yield running


def login(server, password: str, client_address: str) -> int:
    """One login attempt as the proxy would forward it: status (302 = logged in)."""
    opener = urllib.request.build_opener(NoRedirect)
    headers = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": client_address,
        "Origin": server.url.replace("http:", "https:"),
    }
    with opener.open(urllib.request.Request(f"{server.url}/accounts/login/", headers=headers)) as r:
        csrf_value = re.search(r"csrftoken=([^;]+)", r.headers["Set-Cookie"]).group(1)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', r.read().decode())
    form = {"username": USER, "password": password, "csrfmiddlewaretoken": token.group(1)}
    request = urllib.request.Request(
        f"{server.url}/accounts/login/",
        data=urllib.parse.urlencode(form).encode(),
        headers={**headers, "Cookie": f"csrftoken={csrf_value}"},
    )
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_strangers_cannot_lock_out_the_owner_but_one_address_locks_itself(server):
    # five wrong passwords from five different clients (each a forged header in front)
    for n in range(5):
        assert login(server, "wrong", f"192.0.2.77, 198.51.100.{n + 1}") == 200
    assert login(server, PASSWORD, "203.0.113.5") == 302  # the owner, from their own address
    for _ in range(5):
        login(server, "wrong", "198.51.100.50")
    assert login(server, PASSWORD, "198.51.100.50") == 429
    assert login(server, PASSWORD, "203.0.113.5") == 302
