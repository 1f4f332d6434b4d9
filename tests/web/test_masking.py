"""Secrets never reach the screen, whatever file format carries them."""

from __future__ import annotations

import yaml

from appliance.config.loader import config_from_data
from appliance.web.masking import mask_secrets


def test_secret_values_hidden_in_any_format(example_text):
    data = yaml.safe_load(example_text)
    data["members"][0]["md5_password"] = "s3cret-md5"
    data["snmp"] = {
        "enabled": True,
        "users": [{"name": "nms", "auth_password": "auth-phrase-1",
                   "priv_password": "priv-phrase-1"}],
        "communities": [{"community": "n0c-r3ad", "allowed_networks": ["192.0.2.0/24"]}],
    }
    cfg = config_from_data(data)
    text = ('+  password "s3cret-md5";\n'
            '+ {"auth_password": "auth-phrase-1", "x": "priv-phrase-1"}\n'
            '+ community n0c-r3ad\n+  password_hash: $argon2id$v=19$m=65536$abc$def\n')
    masked = mask_secrets(text, cfg)
    for secret in ("s3cret-md5", "auth-phrase-1", "priv-phrase-1", "n0c-r3ad", "$argon2id$"):
        assert secret not in masked
    assert masked.count("(hidden)") == 5
