"""Settings from the environment (prefix ``OFFSITE_``), validated at start-up.

Everything that differs between a developer's laptop and a bureau's servers lives here; what the law says
(deadlines, fines, the catalogue) lives in ``configs/`` instead.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MODEL = PROJECT_ROOT / "models" / "offsite-street.onnx"  # the detector the project ships

# Development values. Outside development the service refuses to start while any secret still has one.
DEV_GATEWAY_MASTER_KEY = "development-only-gateway-master-key"
DEV_SESSION_SECRET = "offsite-development-session-secret-not-for-production"
DEV_ADMIN_PASSWORD = "offsite-admin"


class InsecureSettingsError(ValueError):
    """A secret still has its development value outside development."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OFFSITE_", extra="forbid", env_file=None)

    environment: Literal["development", "production"] = Field(
        "development", description="Development allows the built-in secrets; production refuses them."
    )
    database_url: str = Field(
        f"sqlite:///{PROJECT_ROOT / 'var' / 'offsite.db'}",
        description="SQLAlchemy URL: a SQLite file by default, postgresql+psycopg://… in production.",
    )
    database_connect_timeout_s: int = Field(
        5, ge=2, le=60, description="PostgreSQL: seconds to establish a connection before the request gets 503."
    )
    database_statement_timeout_s: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="PostgreSQL: the server cancels a longer statement (statement_timeout); a server silent for 2 s "
        "more is given up as stalled. Requests then get 503. Raise it for a long `offsite db upgrade`.",
    )
    database_pool_timeout_s: float = Field(
        5.0, gt=0, le=60, description="Seconds a request waits for a free database connection before it gets 503."
    )
    config_dir: Path = Field(PROJECT_ROOT / "configs", description="Folder with the law's YAML configs.")
    timezone: str = Field("Asia/Shanghai", description="Local time zone: deadlines count local calendar days.")

    evidence_backend: Literal["local", "s3"] = Field("local", description="Where sealed evidence is stored.")
    evidence_dir: Path = Field(PROJECT_ROOT / "var" / "evidence", description="Local evidence directory.")
    model_store: Path = Field(
        PROJECT_ROOT / "var" / "models",
        description="Where the model registry keeps each registered model file (and its manifest), by its SHA-256.",
    )
    dataset_store: Path = Field(
        PROJECT_ROOT / "var" / "datasets",
        description="Where labelled sets uploaded in the console are imported, each in a folder of its own name.",
    )
    golden_store: Path = Field(
        PROJECT_ROOT / "var" / "golden",
        description="Where golden sets lie (offsite model golden freeze): the console and the API name them by folder.",
    )
    training_store: Path = Field(
        PROJECT_ROOT / "var" / "training",
        description="Where training jobs keep their datasets, runs, logs and candidates, a folder a job.",
    )
    training_python: Path | None = Field(
        None,
        description="The Python that runs training jobs (torch and Ultralytics); by default the project's "
        ".venv-train (make train-env) where it is built, else this one.",
    )
    recent_frames_dir: Path = Field(
        PROJECT_ROOT / "var" / "recent-frames",
        description="Where camera pipelines keep a frame now and then for operators to box what the detector missed.",
    )
    recent_frame_every_s: float = Field(10.0, gt=0, le=3600, description="A recent frame kept every this many s.")
    recent_frames_keep_h: float = Field(
        24.0, gt=0, le=24 * 31, description="Hours a recent frame is kept (it is no evidence; it goes after this)."
    )
    training_frames_dir: Path = Field(
        PROJECT_ROOT / "var" / "training-frames",
        description="Where frames an operator labelled as a missed violation are kept, for training.",
    )
    training_frames_keep_days: int = Field(
        365, ge=1, le=3650, description="Days a missed-violation training frame is kept (规定 第十六条), then removed."
    )
    model_poll_s: float = Field(
        10.0, gt=0, description="How often camera pipelines look for a newly promoted model in the registry (s)."
    )
    nats_url: str = Field(
        "nats://127.0.0.1:4222",
        description="NATS with JetStream, for offsite worker and offsite sealer (issue 16); a cluster's servers "
        "separated by commas.",
    )
    nats_prefix: str = Field(
        "offsite", pattern=r"^[a-z][a-z0-9-]{0,30}$", description="Names of this installation's streams and buckets."
    )
    lease_s: float = Field(
        10.0, ge=1, le=300, description="How long a camera's or a role's lease lasts unrenewed: the failover time."
    )
    recheck_every_s: float = Field(
        600.0,
        gt=0,
        le=86400,
        description="How often offsite scheduler re-checks the cases whose rectification deadline has passed (s).",
    )
    recheck_window_s: float = Field(
        60.0,
        ge=5,
        le=600,
        description="How long offsite scheduler watches a camera for an automatic re-check (s): the violation is "
        "present when its objects stayed in the zone for half of it.",
    )
    s3_endpoint: str | None = Field(None, description="S3 endpoint host:port, for evidence_backend=s3.")
    s3_bucket: str | None = Field(None, description="Bucket created with Object Lock.")
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    s3_secure: bool = Field(True, description="Use TLS to reach the S3 endpoint.")
    s3_retention_days: int = Field(
        3650, ge=1, le=36500, description="COMPLIANCE retention of every evidence object, in days."
    )
    s3_connect_timeout_s: float = Field(2.0, gt=0, le=60, description="Seconds to connect to the S3 endpoint.")
    s3_read_timeout_s: float = Field(
        10.0, gt=0, le=600, description="Seconds to wait for each answer: a hung S3 endpoint fails after this long."
    )
    s3_retries: int = Field(1, ge=0, le=10, description="Further tries after a refused connection or a 5xx answer.")
    s3_breaker_failures: int = Field(
        1, ge=1, le=100, description="Unavailable answers in a row after which evidence goes to the spool at once."
    )
    s3_breaker_reset_s: float = Field(
        30.0, gt=0, le=3600, description="Seconds evidence goes to the spool at once before one call probes S3 again."
    )

    gateway_master_key: SecretStr = Field(
        SecretStr(DEV_GATEWAY_MASTER_KEY),
        description="Master key from which each camera gateway's HMAC secret is derived.",
    )
    session_secret: SecretStr = Field(
        SecretStr(DEV_SESSION_SECRET),
        description="Signs the console's form tokens, the party page's sessions and the parties' verification codes.",
    )
    gateway_replay_window_s: int = Field(300, ge=10, le=3600, description="Accepted clock skew and nonce memory.")
    admin_password: SecretStr = Field(
        SecretStr(DEV_ADMIN_PASSWORD),
        description="Password of the first admin account, created on first start.",
    )
    token_ttl_minutes: int = Field(720, ge=5, le=7 * 24 * 60, description="Lifetime of a bearer token.")
    sign_in_max_failures: int = Field(
        5, ge=1, le=1000, description="Wrong passwords for one account within the window that lock that account."
    )
    sign_in_max_failures_per_client: int = Field(
        20, ge=1, le=10000, description="Wrong passwords from one client address within the window that lock it."
    )
    sign_in_window_minutes: int = Field(
        15, ge=1, le=24 * 60, description="The window in which wrong sign-in passwords are counted."
    )
    sign_in_lockout_minutes: int = Field(
        15, ge=1, le=24 * 60, description="How long a sign-in lock-out lasts (account or client address)."
    )
    max_upload_bytes: int = Field(20 * 1024 * 1024, ge=1024, description="Largest accepted request body.")
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Lowest level logged")
    log_format: Literal["text", "json"] = Field("text", description="json: one JSON object per line")
    case_number_prefix: str = Field("沪城管非现", min_length=1, max_length=20, description="Case number prefix.")
    agency_name: str = Field(
        "上海市浦东新区城市管理行政执法局", min_length=2, max_length=60, description="The agency named on documents."
    )
    payment_channel: str = Field(
        "通过上海市财政非税收入电子缴款系统（“一网通办”）或持决定书到代收银行缴纳",
        min_length=2, max_length=200, description="How fines are paid, as decisions state it (行政处罚法第六十七条).",
    )  # fmt: skip
    review_body: str = Field(
        "上海市浦东新区人民政府", min_length=2, max_length=60, description="The 复议机关 decisions name."
    )
    court: str = Field(
        "有管辖权的人民法院", min_length=2, max_length=60, description="The court decisions name for 行政诉讼."
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        pattern=r"^https?://[^/\s]+$",
        description="Where the public pages are reached: documents print its verification and party-page links.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _s3_complete(self) -> Settings:
        if self.evidence_backend == "s3":
            missing = [
                name
                for name in ("s3_endpoint", "s3_bucket", "s3_access_key", "s3_secret_key")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"evidence_backend=s3 needs {', '.join('OFFSITE_' + m.upper() for m in missing)}")
        return self

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over HTTPS, except in development on a local address."""
        return self.environment != "development"

    @property
    def trainer_python(self) -> Path:
        if self.training_python is not None:
            return self.training_python
        built = PROJECT_ROOT / ".venv-train" / "bin" / "python"
        return built if built.exists() else Path(sys.executable)

    def as_environment(self) -> dict[str, str]:
        """These settings as the OFFSITE_* variables that give them to another process (a training worker)."""
        found: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            found[f"OFFSITE_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
        return found

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def refuse_default_secrets(self) -> None:
        """Outside development, refuse to run with any secret left at its built-in development value."""
        if self.environment == "development":
            return
        weak = []
        if self.gateway_master_key.get_secret_value() == DEV_GATEWAY_MASTER_KEY:
            weak.append("OFFSITE_GATEWAY_MASTER_KEY")
        if self.admin_password.get_secret_value() == DEV_ADMIN_PASSWORD:
            weak.append("OFFSITE_ADMIN_PASSWORD")
        if len(self.gateway_master_key.get_secret_value()) < 32:
            weak.append("OFFSITE_GATEWAY_MASTER_KEY (shorter than 32 characters)")
        if self.session_secret.get_secret_value() == DEV_SESSION_SECRET:
            weak.append("OFFSITE_SESSION_SECRET")
        elif len(self.session_secret.get_secret_value()) < 32:
            weak.append("OFFSITE_SESSION_SECRET (shorter than 32 characters)")
        if not self.public_base_url.startswith("https://") or "127.0.0.1" in self.public_base_url:
            weak.append("OFFSITE_PUBLIC_BASE_URL (the https:// address the public reaches; documents print it)")
        if len(self.admin_password.get_secret_value()) < 12:
            weak.append("OFFSITE_ADMIN_PASSWORD (shorter than 12 characters)")
        if weak:
            raise InsecureSettingsError(
                f"refusing to start in {self.environment}: set {', '.join(sorted(set(weak)))} to a real value"
            )
