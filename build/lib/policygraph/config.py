"""The service configuration: CLI options, POLICYGRAPH_* variables and defaults in one place.

Each setting is declared once, here, with its default and help text; the CLI builds its options from
these fields (cli.py) and an option given on the command line overrides the environment. Values are
checked when the command starts, and a bad one is an error naming the setting, never replaced by its
default (``--workers 0`` is refused, not turned into 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonDict
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from policygraph.build.dataset import project_root
from policygraph.store.embedded import WorkerLimits
from policygraph.web.settings import Settings

ENV_PREFIX = "POLICYGRAPH_"
ROOT_HELP = ("project directory holding data/, ontology/, shapes/, queries/ (default: $POLICYGRAPH_ROOT, else this "
             "checkout, else the copy the installed package carries)")


def project_dir(root: str | Path | None) -> Path:
    """The project a command works on: --root if given, else build.dataset.project_root."""
    return Path(root) if root else project_root()


class ConfigError(ValueError):
    """A setting with a value the program cannot use; the message names the option and the variable."""


def setting(default: Any, description: str, *, option: str | None = "", metavar: str | None = None,
            shown: str | None = None, **checks: Any) -> Any:
    """A setting's default, help text and range. ``option`` is its CLI flag ("" = derived from the name,
    None = environment only); ``shown`` is how the default reads in the help (else the value)."""
    extra: JsonDict = {"option": option, "metavar": metavar, "shown": shown}
    return Field(default, description=description, json_schema_extra=extra, **checks)


def cli_details(info: FieldInfo) -> dict[str, Any]:
    """What the CLI needs beyond the type and help text: option name, metavar, how the default reads."""
    return info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}


def option_name(name: str, info: FieldInfo) -> str | None:
    """The CLI flag of a setting (None: set through the environment only)."""
    option = cli_details(info).get("option", "")
    return None if option is None else str(option) or "--" + name.replace("_", "-")


Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class ServeConfig(BaseSettings):
    """Everything `policygraph serve` reads besides its files: where queries run, how, and the limits."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="forbid",
                                      validate_default=True)

    store: str | None = setting(
        None, "where queries run: omitted = embedded Oxigraph in memory; a directory = an on-disk Oxigraph store; "
        "http(s)://… = a remote SPARQL 1.1 query endpoint", shown="in memory")
    host: str = setting("127.0.0.1", "address to listen on")
    port: int = setting(8000, "port", ge=0, le=65535)
    workers: int = setting(2, "query worker processes for the embedded store", ge=1)
    spare_workers: int = setting(
        0, "loaded, idle workers that take a killed worker's place at once (each holds the store)", ge=0)
    extra_workers: int | None = setting(
        None, "workers forked for one query each when every worker has run its query for 2 s or more and a "
        "client holding none asks (so runaways do not hold ordinary queries)", metavar="N", shown="1", ge=0)
    lookups: bool = setting(
        True, "answer single-resource lookups (ASK/SELECT of one triple pattern with a given subject, DESCRIBE <iri>) "
        "in the service's process from an on-disk copy of the store, built in the background after the start")
    query_timeout: Seconds = setting(10.0, "seconds a query may run")
    min_query_timeout: Seconds = setting(
        1.0, "a request's ?timeout below this is raised to it (seconds): tiny limits cannot drain the pool")
    memory_limit: int = setting(1024, "memory one query may add to its worker before it is stopped (MiB)",
                                metavar="MIB", ge=64)
    client_share: int | None = setting(
        None, "query workers one client address may hold at once, counting the successors of its stopped queries "
        "(0 = no limit)", metavar="N", shown="all but one", ge=0)
    queue_timeout: Seconds = setting(10.0, "seconds a request may wait for a free query worker before a 503")
    max_rows: int = setting(10_000, "rows or triples in one answer", ge=1)
    response_cache: int = setting(
        0, "memory for answers to repeated identical /sparql, /queries and /api requests, sent again without "
        "running the query (0 = none)", metavar="MIB", ge=0)
    service_allow: Annotated[tuple[str, ...], NoDecode] = setting(
        (), "endpoint IRI prefix that SERVICE may call (repeatable; the variable is comma-separated)",
        option="--allow-service", metavar="PREFIX", shown="none")
    header_timeout: Seconds = setting(10.0, "seconds for a request's headers (else the connection is closed)",
                                      option=None)
    body_timeout: Seconds = setting(30.0, "seconds for a POST body (else 408)", option=None)
    log_level: str = setting("info", "level of the JSON log lines on stderr", option=None,
                             pattern="^(?i:critical|error|warning|info|debug|trace)$")

    @classmethod
    def load(cls, **given: Any) -> Self:
        """The settings from the environment, overridden by the options given (None or () = not given)."""
        try:
            return cls(**{name: value for name, value in given.items() if value is not None and value != ()})
        except ValidationError as e:
            raise ConfigError("\n".join(_explain(err) for err in e.errors())) from None

    @field_validator("service_allow", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return tuple(p for p in value.split(",") if p) if isinstance(value, str) else value

    @field_validator("service_allow")
    @classmethod
    def _http_prefixes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in value:
            if not prefix.startswith(("http://", "https://")) or len(prefix) < len("http://x"):
                raise ValueError(f"{prefix!r} is not an http(s) IRI prefix")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_query_timeout > self.query_timeout:
            raise ValueError(f"--min-query-timeout ({self.min_query_timeout:g} s) is more than --query-timeout "
                             f"({self.query_timeout:g} s)")
        return self

    @property
    def remote(self) -> bool:
        return (self.store or "").startswith(("http://", "https://"))

    def web_settings(self) -> Settings:
        """The web layer's settings (it checks them again, naming any it refuses)."""
        try:
            return Settings(query_timeout=self.query_timeout, min_query_timeout=self.min_query_timeout,
                            queue_timeout=self.queue_timeout, max_rows=self.max_rows,
                            header_timeout=self.header_timeout, body_timeout=self.body_timeout,
                            service_allow=self.service_allow, response_cache=self.response_cache << 20)
        except ValueError as e:
            raise ConfigError(str(e)) from None

    def worker_limits(self) -> WorkerLimits:
        """What confines a query worker: memory in bytes, and the network only if SERVICE may call out."""
        return WorkerLimits(self.memory_limit << 20, network=bool(self.service_allow))

    def client_share_limit(self) -> int | None:
        """Workers one client may hold: None = the pool's default (all but one), 0 = every worker."""
        return self.workers if self.client_share == 0 else self.client_share


def _explain(err: Any) -> str:
    """One line naming the option and the variable, what is wrong, and the value given."""
    name = str(err["loc"][0]) if err["loc"] else ""
    msg = str(err["msg"]).removeprefix("Value error, ")
    if name not in ServeConfig.model_fields:
        return msg
    option = option_name(name, ServeConfig.model_fields[name])
    return f"{option + ' / ' if option else ''}{ENV_PREFIX}{name.upper()}: {msg} (got {err['input']!r})"


def env_names() -> list[str]:
    return [ENV_PREFIX + name.upper() for name in ServeConfig.model_fields]
