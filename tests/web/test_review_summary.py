"""The review says what will happen in words; the raw plan and diffs are folded away."""

from __future__ import annotations

import html
import re

import yaml

from appliance.config.loader import config_from_data, load_config_text
from appliance.config.summary import describe_change, summarize
from appliance.pipeline.concern import Change
from appliance.web.summary import field_errors, split_diff

from .conftest import csrf, form_fields
from .test_admin_pages import NEW_MEMBER

NAME = "Kōrero Café ☕ Ñandú"


def _example(example_text):
    return load_config_text(example_text), yaml.safe_load(example_text)


def test_member_added_in_words(example_text):
    old, data = _example(example_text)
    data["members"].append({"asn": 64501, "name": NAME, "ports": ["ixp6"],
                            "macs": ["02:00:5e:10:00:06"], "ipv4": ["203.0.113.15"],
                            "ipv6": ["2001:db8:eeee::15"], "max_prefix": {"ipv4": 20}})
    text = "\n".join(summarize(old, config_from_data(data)))
    assert f"AS64501 {NAME} joins the exchange: port ixp6" in text
    assert "203.0.113.15 and 2001:db8:eeee::15" in text and "max-prefix 20 IPv4" in text
    assert f"The route server opens 2 BGP sessions for AS64501 {NAME}" in text
    assert "The switch locks ixp6 to the MAC address 02:00:5e:10:00:06" in text
    assert "members" not in text and "[" not in text, "no model paths in the sentences"


def test_member_removed_and_changed_in_words(example_text):
    old, data = _example(example_text)
    gone = data["members"].pop(4)
    data["members"][1]["name"] = "Lagoon Ltd"
    data["members"][1]["md5_password"] = "s3cret-bgp"
    data["members"][2]["route_server"] = False
    lines = summarize(old, config_from_data(data))
    text = "\n".join(lines)
    assert f"AS{gone['asn']} {gone['name']} leaves the exchange" in text
    assert f"closes its 2 BGP sessions with AS{gone['asn']}" in text
    assert "name Lagoon Broadband → Lagoon Ltd" in text
    assert "the BGP password changes" in text and "s3cret-bgp" not in text
    reef = data["members"][2]
    assert f"The route server closes its 2 BGP sessions with AS{reef['asn']}" in text


def test_settings_policy_users_and_secrets_in_words(example_text):
    old, data = _example(example_text)
    data["management"]["timezone"] = "Pacific/Tongatapu"
    data["route_server"].setdefault("policy", {})["irr"] = "tag_only"
    data["route_server"]["policy"]["aspa"] = "reject_invalid"
    data["snmp"] = {"enabled": True, "users": [{"name": "librenms",
                                               "auth_password": "auth-pass-phrase",
                                               "priv_password": "priv-pass-phrase"}]}
    text = "\n".join(summarize(old, config_from_data(data)))
    assert "The time zone:" in text and "→ Pacific/Tongatapu." in text
    assert "IRR filtering: routes not registered in the IRR are only tagged" in text
    assert ("ASPA path check: ASPA-invalid routes are rejected (was: ASPA-invalid routes are "
            "only tagged, not rejected).") in text
    assert "SNMPv3 user librenms is added." in text
    assert "pass-phrase" not in text
    assert summarize(old, old) == [], "nothing changes: nothing to say"


def test_first_setup_is_described(example_text):
    cfg, _ = _example(example_text)
    text = "\n".join(summarize(None, cfg))
    assert "Example Island Internet Exchange (EIIX) is set up on this box." in text
    assert "The peering LAN is 203.0.113.0/24 and 2001:db8:eeee::/64" in text


def test_plan_lines_reworded():
    fw = Change("firewall", "change", "nft table inet ixp_mgmt", "reload (atomic replace)")
    assert describe_change(fw).startswith("The management firewall is reloaded")
    assert "replaced in one step" in describe_change(fw)
    kept = Change("firewall", "change", "nft table inet ixp_mgmt",
                  "reload in place, atomic (drop counters kept)")
    assert "drop counts kept" in describe_change(kept)
    assert describe_change(Change("bridge", "add", "fdb 02:00:5e:10:00:06 on ixp6",
                                  "static")) == "The switch locks ixp6 to MAC 02:00:5e:10:00:06."
    assert describe_change(Change("lab", "add", "lab port ixp6")) == \
        "The lab creates port ixp6."
    assert describe_change(Change("core", "change", "file ixp.yaml", path="ixp.yaml")) == \
        "The configuration file is updated."


def test_split_diff_and_field_errors():
    diff = ("--- running/a.conf\n+++ candidate/a.conf\n@@ -1 +1 @@\n-old\n+new\n ctx\n"
            "--- running/b.json\n+++ candidate/b.json\n@@ -0,0 +1 @@\n+x\n")
    a, b = split_diff(diff)
    assert (a.path, a.added, a.removed, b.path, b.added) == ("a.conf", 1, 1, "b.json", 1)
    assert ("del", "-old") in a.lines and ("add", "+new") in a.lines
    err = ("members[5].ports[0].interface: interface ixp6 does not exist in ns-x (port of "
           "AS64501 X); check the NIC name with the port inventory; peering_lan.bridge: "
           "br exists; nothing was changed")
    assert field_errors(err) == [
        ("members[5].ports[0].interface", "interface ixp6 does not exist in ns-x (port of "
         "AS64501 X); check the NIC name with the port inventory"),
        ("peering_lan.bridge", "br exists; nothing was changed")]
    assert field_errors("lock busy") == [("", "lock busy")]


def test_member_review_in_words_with_edit(client):
    page = client.get("/members/new")
    resp = client.post("/members/new", data={**NEW_MEMBER, "name": NAME, "action": "save",
                                              "csrf_token": csrf(page.data)})
    assert resp.status_code == 302, resp.data[:2000]
    review = client.get("/changes/review").data.decode()
    assert "What will happen" in review
    assert f"AS64501 {NAME} joins the exchange: port ixp6" in review
    assert "review.css" in review
    assert f"AS64501 {NAME} has no IRR data (AS-CORAL) yet: until it is loaded" in review
    # the raw diffs are there, folded (closed) and classed for colour
    assert '<details class="review-file">' in review and "<details open" not in review
    assert '<span class="d-add">+  name: ' in review
    # "Edit" next to "Discard" reopens the member form with the candidate's values
    assert ">Edit</a>" in review and "Discard" in review
    href = html.unescape(re.search(r'<a class="button" href="([^"]+)">Edit</a>', review)[1])
    assert href.startswith("/members/new?candidate=")
    edit = client.get(href).data.decode()
    assert f'value="{NAME}"' in edit and 'value="02:00:5e:10:00:06"' in edit
    # without a pending change, the same link starts an empty form
    client.post("/changes/discard", data=form_fields(review, "/changes/discard"))
    assert NAME not in client.get(href).data.decode()


def test_review_css_is_local(client):
    css = client.get("/static/review.css")
    assert css.status_code == 200 and b".d-add" in css.data


def test_review_in_the_readers_language(client):
    """The sentences and the plan's words are said in the page's language (Portuguese here
    and French below); the technical plan lines and the names stay as they are."""
    page = client.get("/members/new")
    client.post("/members/new", data={**NEW_MEMBER, "name": NAME, "action": "save",
                                      "csrf_token": csrf(page.data)})

    def review(lang: str) -> str:
        return html.unescape(client.get("/changes/review", headers={"Accept-Language": lang})
                             .get_data(as_text=True))
    pt = review("pt")
    assert (f"AS64501 {NAME} entra no ponto de troca: porta ixp6, endereços 203.0.113.15 e "
            "2001:db8:eeee::15, max-prefix 20 IPv4 / 10 IPv6 e AS-SET AS-CORAL.") in pt
    assert (f"O servidor de rotas abre 2 sessões BGP com AS64501 {NAME} (as rotas não "
            "registradas no IRR são rejeitadas; as rotas RPKI inválidas são rejeitadas).") in pt
    assert "O arquivo de configuração: atualização." in pt
    assert "~ [core] file ixp.yaml" in pt, "the technical line is not translated"
    fr = review("fr")
    assert ("Le commutateur verrouille ixp6 sur l'adresse MAC 02:00:5e:10:00:06 : les trames "
            "de tout autre routeur sont rejetées.") in fr
    assert "joins the exchange" not in fr and "is updated" not in fr
    assert f"AS64501 {NAME} joins the exchange: port ixp6" in review("en")


def test_summary_sentences_translated_as_a_whole(example_text, tmp_path):
    """say(): lists joined the language's way, labels inside sentences, capitals kept; the
    English is the CLI's, character for character."""
    from flask_babel import force_locale

    from appliance.web import create_app
    from appliance.web.summary import say

    old, data = _example(example_text)
    data["members"][0]["quarantine"] = True
    data["members"][0]["macs"] = ["02:00:5e:10:00:aa"]
    data["members"][1]["md5_password"] = "s3cret-bgp"
    data["services"].setdefault("looking_glass", {})["public"] = True
    data["management"]["timezone"] = "Pacific/Tongatapu"
    lines = summarize(old, config_from_data(data))
    fw = describe_change(Change("firewall", "change", "nft table inet ixp_mgmt",
                                "reload (atomic replace)"))
    with create_app(tmp_path).test_request_context():
        with force_locale("en"):
            assert [say(s) for s in lines] == [str(s) for s in lines]
        with force_locale("es"):
            es = [say(s) for s in lines]
            assert say(fw) == ("Se recarga el firewall de gestión (reemplazado en un solo "
                               "paso: ningún momento sin reglas).")
        with force_locale("fr"):
            fr = [say(s) for s in lines]
    assert "La zona horaria: Pacific/Fiji → Pacific/Tongatapu." in es
    assert "El looking glass público se activa." in es
    assert ("Cambios en AS64496 Island Telecom: MAC del router: 02:00:5e:10:00:01 → "
            "02:00:5e:10:00:aa; cuarentena: no → sí.") in es
    assert "Le looking glass public : mise en service." in fr
    # French sets a space before the semicolon; the form label "BGP password" is capitalised
    # in the catalogue, the same words inside this sentence are not
    assert ("Modifications pour AS64497 Lagoon Broadband : nouvelle valeur pour mot de passe "
            "BGP.") in fr
    assert ("Modifications pour AS64496 Island Telecom : MAC du routeur : 02:00:5e:10:00:01 → "
            "02:00:5e:10:00:aa ; quarantaine : non → oui.") in fr
    assert not any("s3cret" in x for x in es + fr)
