"""Checking the whole configuration before anything listens: one line per problem, naming the variable.

Every way of starting the gateway goes through here: ``offsets-gateway serve`` and ``check-config`` call
`load_settings` and `preflight` before uvicorn starts, and ``uvicorn --factory gateway.app:create_app``
does the same inside the factory. A problem is a `ConfigProblem`: the variable and what is wrong with it,
never the value given (it may be a secret). `exit_on_config_error` prints them, one line each, and exits 2.

The variables the gateway knows are derived from the settings models themselves (every field, and every
field of a nested settings model such as `SecuritySettings`), so a field added to a model is known at once;
any other ``GATEWAY_*`` variable is a typo that would otherwise be silently ignored.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

from pydantic import AliasChoices, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsError

from gateway.auth.authenticate import AuthMode, choose_mode
from gateway.auth.clients import ClientRegistry
from gateway.auth.errors import ClientsFileError
from gateway.config import Settings, environment
from gateway.persisted import TrustedDocuments, TrustedDocumentsError
from gateway.security.settings import SecuritySettings

T = TypeVar("T")
#: Exit status of a refused configuration (the usual status of a command-line usage error).
EXIT_CONFIG = 2


class ConfigProblem(NamedTuple):
    """One bad setting: the variable (or command-line option) and what is wrong with it."""

    variable: str
    reason: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.reason}"


class ConfigError(ValueError):
    """The configuration cannot be used; `problems` says why, one entry per bad variable."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class Preflight:
    """What a checked configuration resolves to (`offsets-gateway check-config` prints it)."""

    auth_mode: AuthMode
    clients: int | None
    trusted_documents: int | None


def known_variables(model: type[BaseSettings] = Settings) -> dict[str, tuple[str, ...]]:
    """Every environment variable `model` reads (upper case) -> the field path it sets."""
    prefix = str(model.model_config.get("env_prefix", ""))
    known: dict[str, tuple[str, ...]] = {}
    for name, field in model.model_fields.items():
        for variable in _field_variables(prefix, name, field):
            known[variable.upper()] = (name,)
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseSettings):
            known.update({var: (name, *path) for var, path in known_variables(nested).items()})
    return known


def _field_variables(prefix: str, name: str, field: FieldInfo) -> list[str]:
    # pydantic-settings reads an aliased field from its alias alone, without the prefix.
    alias = field.validation_alias or field.alias
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    return [prefix + name]


def unknown_variables(
    environ: Mapping[str, str], model: type[BaseSettings] = Settings
) -> list[ConfigProblem]:
    """A problem for each ``GATEWAY_*`` variable no settings field reads, with a did-you-mean."""
    prefix = str(model.model_config.get("env_prefix", "")).upper()
    known = known_variables(model)
    problems = []
    for variable in sorted(environ):
        if _service_link(variable.upper().removeprefix(prefix)):
            continue
        if variable.upper().startswith(prefix) and variable.upper() not in known:
            guess = _closest(variable.upper(), known, prefix)
            hint = f"; did you mean {guess}?" if guess else " (see the README's Configuration section)"
            problems.append(ConfigProblem(variable, f"unknown variable{hint}"))
    return problems


#: What Kubernetes puts in every pod's environment for a Service named "gateway" (service links): not
#: settings, and not typos either, so they are let through.
_SERVICE_LINK = re.compile(
    r"SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT(_\d+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)?"
)


def _service_link(name: str) -> bool:
    return _SERVICE_LINK.fullmatch(name) is not None


def _closest(variable: str, known: Iterable[str], prefix: str) -> str | None:
    # Compared without the shared prefix, which would make every name look alike.
    names = {name.removeprefix(prefix): name for name in known}
    guess = difflib.get_close_matches(variable.removeprefix(prefix), names, n=1, cutoff=0.6)
    return names[guess[0]] if guess else None


def load_settings() -> Settings:
    """The settings from the environment (and the .env file, if the model reads one); ConfigError if bad."""
    problems = unknown_variables({**_dotenv_values(Settings), **environment()})
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError([*problems, *_validation_problems(exc)]) from None
    except SettingsError as exc:  # a nested model's variable that is not valid JSON
        raise ConfigError([*problems, _settings_problem(exc)]) from None
    if problems:
        raise ConfigError(problems)
    return settings


def _dotenv_values(model: type[BaseSettings]) -> dict[str, str]:
    env_file = model.model_config.get("env_file")
    if env_file is None:
        return {}
    from dotenv import dotenv_values

    files = [env_file] if isinstance(env_file, str | Path) else list(env_file)
    values: dict[str, str] = {}
    for path in files:
        values.update({k: v or "" for k, v in dotenv_values(path).items()})
    return values


def variable_of(location: tuple[str | int, ...]) -> str:
    """The environment variable a validation error's location points at, e.g. GATEWAY_MAX_DEPTH."""
    by_path = {path: variable for variable, path in known_variables().items()}
    names = tuple(part for part in location if isinstance(part, str))
    for end in range(len(names), 0, -1):
        for path, variable in by_path.items():
            # A nested model validated on its own reports its fields without the parent's name.
            if path[-end:] == names[:end]:
                return variable
    return "GATEWAY_*"


def _validation_problems(exc: ValidationError) -> list[ConfigProblem]:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        reason = str(error["msg"]).removeprefix("Value error, ")
        problems.append(ConfigProblem(variable_of(error["loc"]), reason))
    return problems


def _settings_problem(exc: SettingsError) -> ConfigProblem:
    match = re.search(r'field "([^"]+)"', str(exc))
    variable = variable_of((match.group(1),)) if match else "GATEWAY_*"
    return ConfigProblem(variable, "cannot be parsed (a nested setting is a JSON object)")


def preflight(settings: Settings) -> Preflight:
    """Check what the settings alone cannot: the auth mode, the clients file, the trusted documents.

    Reads the files, logs nothing (the app logs its mode once, when it starts) and raises ConfigError
    naming each bad variable.
    """
    problems: list[ConfigProblem] = []
    mode = _auth_mode(settings, problems)
    clients = _collect(problems, load_clients, settings.security)
    trusted = _collect(problems, load_trusted_documents, settings.security)
    if problems or mode is None:
        raise ConfigError(problems)
    return Preflight(
        auth_mode=mode,
        clients=len(clients) if clients is not None else None,
        trusted_documents=len(trusted) if trusted is not None else None,
    )


def _auth_mode(settings: Settings, problems: list[ConfigProblem]) -> AuthMode | None:
    try:
        return choose_mode(
            settings.security,
            embedded_sandbox=settings.embedded_sandbox,
            upstream_key_held=settings.upstream_api_key is not None,
        )
    except ValueError as exc:  # both refusals are about the gateway's own upstream key
        problems.append(ConfigProblem(variable_of(("upstream_api_key",)), str(exc)))
        return None


def _collect(
    problems: list[ConfigProblem], load: Callable[[SecuritySettings], T | None], security: SecuritySettings
) -> T | None:
    try:
        return load(security)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None


def load_clients(security: SecuritySettings) -> ClientRegistry | None:
    """The clients file's registry (None when unset); ConfigError naming GATEWAY_CLIENTS_FILE."""
    if security.clients_file is None:
        return None
    try:
        return ClientRegistry.load(security.clients_file)
    except ClientsFileError as exc:
        raise ConfigError([ConfigProblem(variable_of(("clients_file",)), str(exc))]) from None


def load_trusted_documents(security: SecuritySettings) -> TrustedDocuments | None:
    """The trusted-documents manifest (None when unset); ConfigError naming the variable."""
    if security.trusted_documents_file is None:
        return None
    try:
        return TrustedDocuments.load(security.trusted_documents_file)
    except TrustedDocumentsError as exc:
        raise ConfigError([ConfigProblem(variable_of(("trusted_documents_file",)), str(exc))]) from None


def checked_settings() -> tuple[Settings, Preflight]:
    """Settings from the environment, checked by `preflight`; ConfigError when anything is wrong."""
    settings = load_settings()
    return settings, preflight(settings)


def settings_for_app(settings: Settings | None) -> Settings:
    """The settings `create_app` runs with: given ones are checked (ConfigError when bad); with None, the
    environment's, where a problem exits the process (status 2, one line per problem on stderr)."""
    if settings is not None:
        preflight(settings)
        return settings
    with exit_on_config_error():
        settings, _ = checked_settings()
    return settings


def report(error: ConfigError) -> None:
    """Print each problem as one line on stderr, prefixed with the program name."""
    for problem in error.problems:
        print(f"offsets-gateway: {problem}", file=sys.stderr)


@contextmanager
def exit_on_config_error() -> Iterator[None]:
    """Turn a ConfigError into its lines on stderr and exit status 2 (no traceback)."""
    try:
        yield
    except ConfigError as exc:
        report(exc)
        sys.exit(EXIT_CONFIG)
