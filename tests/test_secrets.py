"""Secrets (SPEC §13): a secret value never shows in an exception, a traceback, a ``repr``, a
log record, a ``Change``, a provenance or a redacted dump -- including when the secret
value itself is the bad one."""

from __future__ import annotations

import json
import logging
import traceback
import warnings

import attrs
import pytest

import vein

# Distinctive values: any occurrence in text is a leak.
TOKEN = "tok-7Hq2Zx9Wv4"
PASSWORD = "pw-Qz81mNa0Lk"
BAD_PIN_TEXT = "93418277x"  # a typo'd PIN: the bad text is the secret
LOW_PIN = 93  # below the validator's minimum; shown as text "93" would leak
SHORT_KEY = "k-Ab3Xy"  # shorter than the validator's minimum length
NUMBER_A = 738201  # secret values of the wrong type (kept out of the test source lines,
NUMBER_B = 987654  # which tracebacks quote)
NUMBER_C = 3344556
NUMBER_D = 4455667


def _pin_at_least_1000(_inst, attribute, value):
    if value < 1000:
        raise ValueError(f"{attribute.name} must be >= 1000, got {value!r}")


def _strict_code(value):
    if not value.startswith("c-"):
        raise ValueError(f"not a code: {value!r}")
    return value


@vein.flow
class Vault:
    token: str = vein.field(default="", secret=True)
    pin: int = vein.field(default=1234, secret=True, validator=_pin_at_least_1000)
    key: str = vein.field(
        default="k-0123456789", secret=True, validator=attrs.validators.min_len(12)
    )
    code: str = vein.field(default="c-0", secret=True, converter=_strict_code)
    hosts: list[str] = vein.field(factory=list, secret=True)


@vein.flow
class App:
    name: str = "app"
    port: int = vein.field(default=80, validator=attrs.validators.ge(1))
    api_key: str = vein.field(default="", secret=True)
    vault: Vault = vein.field(factory=Vault)


def assert_hidden(text, *secrets):
    """None of *secrets* (as given and as their ``str``) occurs in *text*."""
    for secret in secrets:
        assert str(secret) not in text, f"secret {secret!r} leaked in: {text!r}"


def everything_about(exc):
    """Every text an exception can show: str, repr, traceback (with notes and chain), entries."""
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    for entry in getattr(exc, "errors", []):
        parts += [str(entry), repr(entry), entry.path, entry.message, str(entry.source)]
    return "\n".join(parts)


def _raises(fn, exc_type=vein.ValidationError):
    with pytest.raises(exc_type) as info:
        fn()
    return info.value


class TestRepr:
    """``repr`` of flow objects and Changes."""

    def test_object_repr(self):
        """Top-level and nested secrets are masked in repr."""
        app = App(api_key=TOKEN)
        app.vault.token = TOKEN
        app.vault.key = PASSWORD + "-long-enough"
        text = repr(app) + str(app) + repr(app.vault)
        assert_hidden(text, TOKEN, PASSWORD)
        assert "'***'" in text
        assert app.api_key == TOKEN  # the value itself is intact

    def test_change_repr_and_str(self):
        """A secret field's Change shows '***' for old and new."""
        app = App(api_key="old-" + TOKEN)
        got = []
        app.on_change(got.append)
        app.api_key = TOKEN
        app.vault.hosts = [PASSWORD]
        assert len(got) == 2
        for c in got:
            assert_hidden(repr(c) + str(c), TOKEN, PASSWORD)
            assert "'***'" in repr(c)
        assert got[0].new == TOKEN  # subscribers still get the value

    def test_change_repr_from_update(self):
        """The Changes returned by ``update`` are masked too."""
        app = App()
        changes = app.update(vein.from_dict({"vault": {"token": TOKEN}}, name="s"))
        assert_hidden(repr(changes) + "".join(map(str, changes)), TOKEN)

    def test_non_secret_shown(self):
        """Masking is per field: a non-secret value is shown (the check can fail)."""
        app = App()
        got = []
        app.on_change(got.append)
        app.name = "visible-name"
        assert "visible-name" in repr(got[0])
        assert "visible-name" in repr(app)


class TestRuntimeErrors:
    """Errors of runtime writes and construction."""

    def test_wrong_type(self):
        """A secret of the wrong type: the value is not quoted."""
        app = App()
        exc = _raises(lambda: setattr(app.vault, "token", NUMBER_A))
        assert_hidden(everything_about(exc), NUMBER_A)
        assert exc.errors[0].path == "vault.token"

    def test_validator_rejects(self):
        """A validator message quoting the value is not shown for a secret field."""
        app = App()
        exc = _raises(lambda: setattr(app.vault, "pin", LOW_PIN))
        text = everything_about(exc)
        assert_hidden(text, f"got {LOW_PIN!r}")
        assert "vault.pin" in text
        exc = _raises(lambda: setattr(app.vault, "key", SHORT_KEY))
        assert_hidden(everything_about(exc), SHORT_KEY)

    def test_converter_rejects(self):
        """A converter error quoting the value is not shown for a secret field."""
        app = App()
        exc = _raises(lambda: setattr(app.vault, "code", TOKEN))
        assert_hidden(everything_about(exc), TOKEN)
        assert app.vault.code == "c-0"

    def test_list_element(self):
        """A bad element of a secret list is not shown."""
        app = App()
        exc = _raises(lambda: setattr(app.vault, "hosts", [TOKEN, NUMBER_B]))
        assert_hidden(everything_about(exc), TOKEN, NUMBER_B)

    def test_non_secret_value_shown(self):
        """For a non-secret field the value is shown (so the masking test can fail)."""
        app = App()
        exc = _raises(lambda: setattr(app, "port", -4242))
        assert "-4242" in everything_about(exc)

    def test_construction(self):
        """Constructor errors on secret fields hide the value (type and validator)."""
        for kwargs, secret in (
            ({"token": NUMBER_D}, NUMBER_D),
            ({"pin": LOW_PIN}, f"got {LOW_PIN!r}"),
            ({"key": SHORT_KEY}, SHORT_KEY),
        ):
            exc = _raises(lambda kw=kwargs: Vault(**kw), ValueError)
            assert_hidden(everything_about(exc), secret)

    def test_nested_mapping_assignment(self):
        """A mapping assigned to a nested field hides the secret values it is rejected for."""
        app = App()
        exc = _raises(lambda: setattr(app, "vault", {"pin": LOW_PIN}))
        assert_hidden(everything_about(exc), f"got {LOW_PIN!r}")
        exc = _raises(lambda: setattr(app, "vault", {"token": [TOKEN]}))
        assert_hidden(everything_about(exc), TOKEN)
        exc = _raises(lambda: App(vault={"key": SHORT_KEY}))
        assert_hidden(everything_about(exc), SHORT_KEY)

    def test_update_with_mapping(self):
        """``update({...})`` errors hide secret values."""
        app = App()
        exc = _raises(lambda: app.update({"vault": {"pin": LOW_PIN, "token": NUMBER_C}}))
        assert_hidden(everything_about(exc), f"got {LOW_PIN!r}", NUMBER_C)


class TestSourceErrors:
    """A secret that is itself the bad value in a source."""

    def test_env_conversion_error(self, monkeypatch):
        """A secret int field given unparsable text: the text is not shown, the variable is."""
        monkeypatch.setenv("VTSEC_VAULT__PIN", BAD_PIN_TEXT)
        exc = _raises(lambda: App().update(vein.from_env("VTSEC_")))
        text = everything_about(exc)
        assert_hidden(text, BAD_PIN_TEXT, BAD_PIN_TEXT[:-1])
        assert "VTSEC_VAULT__PIN" in text
        assert exc.errors[0].path == "vault.pin"

    def test_env_conversion_error_on_load(self, monkeypatch):
        """The same through ``vein.load``."""
        monkeypatch.setenv("VTSEC_VAULT__PIN", BAD_PIN_TEXT)
        exc = _raises(lambda: vein.load(App, vein.from_env("VTSEC_")))
        assert_hidden(everything_about(exc), BAD_PIN_TEXT, BAD_PIN_TEXT[:-1])

    def test_env_validator_error(self, monkeypatch):
        """A secret from env rejected by its validator: the value is not shown."""
        monkeypatch.setenv("VTSEC_VAULT__KEY", SHORT_KEY)
        monkeypatch.setenv("VTSEC_VAULT__PIN", str(LOW_PIN))
        for apply in (
            lambda: App().update(vein.from_env("VTSEC_")),
            lambda: vein.load(App, vein.from_env("VTSEC_")),
        ):
            exc = _raises(apply)
            text = everything_about(exc)
            assert_hidden(text, SHORT_KEY, f"got {LOW_PIN!r}")
            assert sorted(e.path for e in exc.errors) == ["vault.key", "vault.pin"]

    def test_env_converter_error(self, monkeypatch):
        """A secret from env rejected by its converter: the value is not shown."""
        monkeypatch.setenv("VTSEC_VAULT__CODE", TOKEN)
        for apply in (
            lambda: App().update(vein.from_env("VTSEC_")),
            lambda: vein.load(App, vein.from_env("VTSEC_")),
        ):
            assert_hidden(everything_about(_raises(apply)), TOKEN)

    def test_yaml_errors(self, tmp_path):
        """Bad secret values in a YAML file are not shown; the location is."""
        path = tmp_path / "secrets.yml"
        path.write_text(
            f"vault:\n  pin: {BAD_PIN_TEXT}\n  key: {SHORT_KEY}\n  token: [{TOKEN}]\n",
            encoding="utf-8",
        )
        exc = _raises(lambda: App().update(vein.from_yaml(path)))
        text = everything_about(exc)
        assert_hidden(text, BAD_PIN_TEXT, SHORT_KEY, TOKEN)
        assert "secrets.yml" in text

    def test_dict_source_and_structure(self):
        """``from_dict`` and ``vein.structure`` errors hide secret values."""
        data = {"vault": {"pin": BAD_PIN_TEXT, "code": TOKEN}}
        for apply in (
            lambda: App().update(vein.from_dict(data, name="d")),
            lambda: vein.structure(data, App),
        ):
            assert_hidden(everything_about(_raises(apply)), BAD_PIN_TEXT, TOKEN)

    def test_unknown_env_variable_warning(self, monkeypatch, caplog):
        """A mistyped secret variable is warned about by name, never by value."""
        monkeypatch.setenv("VTSEC_VAULT__TOKNE", TOKEN)
        with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
            warnings.simplefilter("always")
            App().update(vein.from_env("VTSEC_"))
        texts = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
        assert any("VTSEC_VAULT__TOKNE" in t for t in texts)
        assert_hidden("\n".join(texts), TOKEN)


class TestLogsAndHandlers:
    """Callback failures are logged and reported without the secret."""

    def test_callback_quoting_the_value(self, caplog):
        """A failing callback on a secret field whose error quotes the value: log is clean."""
        app = App()

        def careless(change):
            raise RuntimeError(f"cannot rotate to {change.new}")

        app.on_change("api_key", careless)
        with caplog.at_level(logging.DEBUG, logger="vein"):
            app.api_key = TOKEN
        records = [r for r in caplog.records if r.name == "vein"]
        assert len(records) == 1
        assert "api_key" in records[0].getMessage()
        assert_hidden(caplog.text + "".join(r.getMessage() for r in records), TOKEN)

    def test_callback_chained_validation_error(self, caplog):
        """A callback copying a secret into a validated secret field fails; nothing leaks."""
        app = App()
        reported = []
        app.on_error(reported.append)
        app.on_change("api_key", lambda c: setattr(app.vault, "key", c.new))
        with caplog.at_level(logging.DEBUG, logger="vein"):
            app.api_key = SHORT_KEY
        assert app.api_key == SHORT_KEY  # the change itself stays
        assert len(reported) == 1
        assert isinstance(reported[0], vein.ValidationError)
        assert_hidden(caplog.text + everything_about(reported[0]), SHORT_KEY)

    def test_non_secret_callback_error_logged_in_full(self, caplog):
        """For a non-secret field the callback's message is logged (the check can fail)."""
        app = App()
        app.on_change("name", lambda c: (_ for _ in ()).throw(RuntimeError(f"bad {c.new}")))
        with caplog.at_level(logging.DEBUG, logger="vein"):
            app.name = "plain-value-xyz"
        assert "plain-value-xyz" in caplog.text


class TestProvenanceAndDumps:
    """``explain``, ``to_dict(redact=True)`` and subscriptions."""

    def test_provenance(self, monkeypatch, tmp_path):
        """The provenance of a secret names where it came from, not what it is."""
        monkeypatch.setenv("VTSEC_VAULT__TOKEN", TOKEN)
        app = vein.load(App, vein.from_env("VTSEC_"))
        assert app.vault.token == TOKEN
        prov = app.explain("vault.token")
        assert str(prov) == "env VTSEC_VAULT__TOKEN"
        assert_hidden(str(prov) + repr(prov), TOKEN)
        path = tmp_path / "c.yml"
        path.write_text(f"api_key: {PASSWORD}\n", encoding="utf-8")
        app.update(vein.from_yaml(path))
        prov = vein.explain(app, "api_key")
        assert_hidden(str(prov) + repr(prov), PASSWORD)
        app.update(vein.from_dict({"vault": {"token": PASSWORD}}, name="d"))
        assert_hidden(str(app.explain("vault.token")), PASSWORD)

    def test_to_dict_redact(self):
        """``to_dict(redact=True)`` replaces every secret, nested and lists included."""
        app = App(api_key=TOKEN)
        app.vault.token = PASSWORD
        app.vault.hosts = [TOKEN + "-host"]
        redacted = vein.to_dict(app, redact=True)
        assert_hidden(repr(redacted), TOKEN, PASSWORD)
        assert redacted["api_key"] == "***"
        assert redacted["vault"]["token"] == "***"
        assert redacted["vault"]["hosts"] == "***"
        assert redacted["name"] == "app"
        assert app.to_dict(redact=True) == redacted
        full = vein.to_dict(app)
        assert full["api_key"] == TOKEN  # without redact, the values are there
        assert full["vault"]["token"] == PASSWORD

    def test_subscription_repr(self):
        """A subscription's repr does not carry values."""
        app = App(api_key=TOKEN)
        sub = app.on_change("api_key", lambda c: None)
        assert_hidden(repr(sub), TOKEN)


# --- secrets held by flow objects inside containers of a non-secret field ----------------

INNER_SECRET = "hs-Nested-5521q"


@vein.flow
class Cred:
    user: str = "u"
    pin: int = vein.field(default=0, secret=True)
    token: str = vein.field(default="", secret=True, validator=attrs.validators.max_len(4))


@vein.flow
class Keyring:
    creds: list[Cred] = vein.field(factory=list)
    by_name: dict[str, Cred] = vein.field(factory=dict)
    maybe: Cred | None = None


class TestSecretsInsideContainers:
    """A secret field of a class held in a list, dict or union of a non-secret field."""

    def test_runtime_assignment(self):
        k = Keyring()
        exc = _raises(lambda: setattr(k, "creds", [{"pin": INNER_SECRET}]))
        assert_hidden(everything_about(exc), INNER_SECRET)
        assert exc.errors[0].path == "creds[0].pin"  # still says where
        assert k.creds == []

    def test_validator_of_inner_secret(self):
        exc = _raises(lambda: Keyring().update({"by_name": {"a": {"token": INNER_SECRET}}}))
        assert_hidden(everything_about(exc), INNER_SECRET)

    @pytest.mark.parametrize(
        ("var", "text"),
        [
            ("APP_CREDS", json.dumps([{"pin": INNER_SECRET}])),
            ("APP_MAYBE", json.dumps({"pin": INNER_SECRET})),
            ("APP_MAYBE", json.dumps({"pin": INNER_SECRET})[:-1]),  # broken JSON quoting it
            ("APP_BY_NAME", json.dumps({"a": {"pin": INNER_SECRET}})),
        ],
    )
    def test_env_json(self, var, text):
        exc = _raises(lambda: vein.load(Keyring, vein.from_env("APP_", environ={var: text})))
        assert_hidden(everything_about(exc), INNER_SECRET)

    def test_yaml(self, tmp_path):
        path = tmp_path / "k.yml"
        path.write_text(f"creds:\n  - pin: {INNER_SECRET}\n", encoding="utf-8")
        exc = _raises(lambda: vein.load(Keyring, vein.from_yaml(path)))
        assert_hidden(everything_about(exc), INNER_SECRET)
        assert "k.yml:2:" in str(exc)

    def test_non_secret_inner_field_still_shown(self):
        exc = _raises(lambda: setattr(Keyring(), "creds", [{"user": "ann", "pin": "12x"}]))
        assert "'***'" in str(exc)
        exc = _raises(lambda: setattr(Keyring(), "creds", [{"user": ["ann"]}]))
        assert "creds[0].user" in str(exc) and "got a list" in str(exc)

    def test_yaml_explicit_tag_does_not_quote_the_value(self, tmp_path):
        path = tmp_path / "k.yml"
        path.write_text(f"creds:\n  - pin: !!int {INNER_SECRET}\n", encoding="utf-8")
        with pytest.raises(vein.SourceError) as info:
            vein.load(Keyring, vein.from_yaml(path))
        assert_hidden(everything_about(info.value), INNER_SECRET)
        assert (info.value.line, info.value.column) == (2, 10)

    def test_constructor_converter_of_secret(self):
        @vein.flow
        class Pin:
            pin: int = vein.field(default=0, secret=True, converter=int)
            n: int = vein.field(default=0, converter=int)

        exc = _raises(lambda: Pin(pin=INNER_SECRET))
        assert_hidden(everything_about(exc), INNER_SECRET)
        assert exc.errors[0].path == "pin"
        exc = _raises(lambda: Pin(n="abc"))  # not secret: a ValidationError that says why
        assert exc.errors[0].path == "n" and "abc" in str(exc)
        with pytest.raises(TypeError):  # a wrong call stays a TypeError
            Pin(zzz=1)

    def test_cli_show_and_watch_mask_inner_secrets(self, tmp_path):
        import subprocess
        import sys
        import textwrap

        (tmp_path / "app.py").write_text(
            textwrap.dedent(
                """
                import vein

                @vein.flow
                class Cred:
                    user: str = "u"
                    pin: str = vein.field(default="", secret=True)

                @vein.flow
                class Settings:
                    creds: list[Cred] = vein.field(factory=list)
                """
            ),
            encoding="utf-8",
        )
        (tmp_path / "c.yml").write_text(
            f"creds:\n  - user: ann\n    pin: {INNER_SECRET}\n", encoding="utf-8"
        )
        for fmt in ("table", "yaml", "json"):
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "vein",
                    "show",
                    "app.py:Settings",
                    "--yaml",
                    "c.yml",
                    "--format",
                    fmt,
                ],
                capture_output=True,
                text=True,
                cwd=tmp_path,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            assert "ann" in done.stdout
            assert_hidden(done.stdout + done.stderr, INNER_SECRET)
            shown = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "vein",
                    "show",
                    "app.py:Settings",
                    "--yaml",
                    "c.yml",
                    "--format",
                    fmt,
                    "--show-secrets",
                ],
                capture_output=True,
                text=True,
                cwd=tmp_path,
                timeout=60,
            )
            assert INNER_SECRET in shown.stdout


# --- policies whose message quotes a secret ---------------------------------------------

POLICY_SECRET = "pk-Weak-8813z"
POLICY_INNER = 44709931  # a test credential's PIN


@vein.flow
class Guarded:
    region: str = "eu"
    api_key: str = vein.field(default="pk-Strong-0000000000", secret=True)
    creds: list[Cred] = vein.field(factory=list)

    @vein.policy
    def strong_key(self):
        if "Weak" in self.api_key:
            raise ValueError(f"key {self.api_key!r} is weak for region {self.region}")

    @vein.policy
    def no_test_creds(self):
        for cred in self.creds:  # read through a list element: vein does not see the read
            if cred.pin > 40000000:
                raise ValueError(f"cred pin {cred.pin} is a test credential")


@vein.flow
class GuardedRoot:
    guarded: Guarded = vein.field(factory=Guarded)


class TestPolicyMessages:
    """A policy's own message quoting a secret is hidden; which policy and fields is shown."""

    @pytest.mark.parametrize(
        "apply",
        [
            lambda g: setattr(g, "api_key", POLICY_SECRET),
            lambda g: g.update({"api_key": POLICY_SECRET}),
            lambda g: g.update(vein.from_dict({"api_key": POLICY_SECRET}, name="d")),
        ],
    )
    def test_write_and_update(self, apply):
        g = Guarded()
        exc = _raises(lambda: apply(g))
        text = everything_about(exc)
        assert_hidden(text, POLICY_SECRET)
        assert "policy 'strong_key'" in text and "api_key" in text and "region" in text
        assert "message hidden" in text and "ValueError" in text
        assert g.api_key == "pk-Strong-0000000000"

    def test_batch_end(self):
        g = Guarded()
        with pytest.raises(vein.ValidationError) as info, g.batch():
            g.region = "us"
            g.api_key = POLICY_SECRET
        assert_hidden(everything_about(info.value), POLICY_SECRET)
        assert (g.region, g.api_key) == ("eu", "pk-Strong-0000000000")

    def test_load_and_construction(self):
        for apply in (
            lambda: vein.load(Guarded, vein.from_dict({"api_key": POLICY_SECRET}, name="d")),
            lambda: Guarded(api_key=POLICY_SECRET),
            lambda: vein.load(
                GuardedRoot, vein.from_dict({"guarded": {"api_key": POLICY_SECRET}}, name="d")
            ),
        ):
            exc = _raises(apply, ValueError)
            assert_hidden(everything_about(exc), POLICY_SECRET)

    def test_nested_object_and_ancestor(self):
        root = GuardedRoot()
        exc = _raises(lambda: setattr(root.guarded, "api_key", POLICY_SECRET))
        assert_hidden(everything_about(exc), POLICY_SECRET)
        assert exc.errors[0].path == "guarded"

    def test_secret_read_out_of_sight_still_hidden(self):
        """The read is through a list element (not recorded): the value in the text is found."""
        g = Guarded()
        exc = _raises(lambda: setattr(g, "creds", [Cred(pin=1), {"pin": POLICY_INNER}]))
        text = everything_about(exc)
        assert_hidden(text, POLICY_INNER)
        assert "policy 'no_test_creds'" in text and "message hidden" in text
        g2 = Guarded()
        exc = _raises(lambda: g2.creds.append(Cred(pin=POLICY_INNER)))
        assert_hidden(everything_about(exc), POLICY_INNER)

    def test_non_secret_message_shown(self):
        """A policy reading no secret keeps its message (so the masking test can fail)."""

        @vein.flow
        class Pool:
            low: int = 1
            high: int = 2
            token: str = vein.field(default="pool-token-x", secret=True)

            @vein.policy
            def ordered(self):
                if self.low > self.high:
                    raise ValueError(f"low {self.low} above high {self.high}")

        exc = _raises(lambda: setattr(Pool(), "low", 777))
        assert "low 777 above high 2" in str(exc)


class TestFailingErrorHandlers:
    """An ``on_error`` handler that raises is logged by name and type, never by its text."""

    def test_tree_handler_on_a_secret_callback_error(self, caplog):
        app = App()

        def careless(change):
            raise RuntimeError(f"cannot rotate to {change.new}")

        def echo(exc):  # a handler re-raising what it was given, secret and all
            raise RuntimeError(f"could not report: {exc} ({app.api_key})")

        app.on_change("api_key", careless)
        app.on_error(echo)
        with caplog.at_level(logging.DEBUG, logger="vein"):
            app.api_key = TOKEN
        assert app.api_key == TOKEN
        assert_hidden(caplog.text + "".join(r.getMessage() for r in caplog.records), TOKEN)
        assert "echo" in caplog.text and "RuntimeError" in caplog.text

    def test_watch_on_error_handler(self, tmp_path, caplog):
        path = tmp_path / "c.yml"
        path.write_text(f"api_key: {TOKEN}\n", encoding="utf-8")
        app = App()

        def echo(exc):
            raise RuntimeError(f"rejected while the key is {app.api_key}: {exc}")

        watcher = app.watch(vein.from_yaml(path), start=False, on_error=echo)
        assert app.api_key == TOKEN
        path.write_text("api_key: [unclosed\n", encoding="utf-8")
        with caplog.at_level(logging.DEBUG, logger="vein"):
            watcher.poll()
        watcher.stop()
        assert "watch on_error handler failed" in caplog.text and "echo" in caplog.text
        assert_hidden(caplog.text + "".join(r.getMessage() for r in caplog.records), TOKEN)


class TestSecretLookingKeysInPlainValues:
    """Schema-less values (and dict fields) may hold a secret-looking key at any depth."""

    SECRET = "pw-Deep-88172"

    def test_change_of_a_config_value(self) -> None:
        c = vein.Config()
        got = []
        c.on_change(got.append)
        c.users = [{"name": "a", "password": self.SECRET}]
        (change,) = got
        assert change.new[0]["password"] == self.SECRET  # the value itself is whole
        assert_hidden(repr(change) + str(change), self.SECRET)
        assert "'name': 'a'" in repr(change)

    def test_env_text_holding_a_secret_key(self) -> None:
        c = vein.Config()
        c.users = [{"name": "a"}]
        bad = json.dumps([{"name": "b", "password": self.SECRET}])[:-1]  # broken JSON
        with pytest.raises(vein.ValidationError) as info:
            c.update(vein.from_env("APP_", environ={"APP_USERS": bad}))
        assert_hidden(everything_about(info.value), self.SECRET)

    def test_vein_watch_prints_plain_values_masked(self) -> None:
        import io

        from vein.cli import _WatchPrinter

        out, err = io.StringIO(), io.StringIO()
        printer = _WatchPrinter(out, err, show_secrets=False)
        c = vein.Config()
        c.on_change(printer.change)
        c.users = [{"name": "a", "password": self.SECRET}]
        assert "users:" in out.getvalue() and '"name": "a"' in out.getvalue()
        assert_hidden(out.getvalue(), self.SECRET)
        shown = io.StringIO()
        c.on_change(_WatchPrinter(shown, err, show_secrets=True).change)
        c.users = [{"name": "b", "password": self.SECRET}]
        assert self.SECRET in shown.getvalue()
