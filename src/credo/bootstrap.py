"""The composition root: every entrypoint (API, CLI, worker, tests) builds the app here."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from credo.adapters.db.engine import make_engine
from credo.adapters.db.uow import SqlUnitOfWorkFactory
from credo.adapters.dns import DnsTxt
from credo.adapters.images.render import BadgeImages
from credo.adapters.keystore import KeyVault, development_master_key, parse_master_key
from credo.adapters.mail.mailbox import FileMailbox
from credo.adapters.mail.smtp import SmtpSender
from credo.adapters.passwords import Argon2Passwords
from credo.adapters.pdf import WeasyCertificates
from credo.adapters.signing.holder_proofs import JwtHolderProofs
from credo.adapters.signing.issuer import DataIntegritySigner
from credo.adapters.signing.parallel import shared_pool
from credo.adapters.signing.verifier import DataIntegrityVerifier
from credo.adapters.sso.oidc import AuthlibOidc
from credo.adapters.sso.saml import Pysaml2
from credo.clock import Clock, SystemClock
from credo.services.context import ServiceContext
from credo.services.credentials.group_commit import PublishQueue
from credo.services.credentials.ports import ProofVerifier, Signer
from credo.services.credentials.positions import StatusPositions
from credo.services.credentials.signing_cache import SigningCache
from credo.services.engagement.recording import Recorder
from credo.services.mail.badge_art import BadgeArt
from credo.services.mail.mailing import MailWorker
from credo.services.mail.ports import MailSender
from credo.services.people.ports import PasswordHasher
from credo.services.people.sso_ports import DnsResolver, OidcProtocol, SamlProtocol, Sealer
from credo.services.recipients import recipient_links
from credo.services.recipients.wallet_offer_ports import HolderProofs
from credo.services.rendering.badges import BadgeRenderer
from credo.services.rendering.ports import CertificateRenderer
from credo.services.runner import Runner
from credo.services.tenancy.key_cache import KeyCache
from credo.services.tenancy.key_use import KeyUse
from credo.services.webhooks.delivery import WebhookWorker
from credo.services.webhooks.endpoints import Webhooking
from credo.services.webhooks.ports import Sender
from credo.settings import Settings, default_data_dir


@dataclass
class App:
    settings: Settings
    engine: Engine
    clock: Clock
    uow: SqlUnitOfWorkFactory
    runner: Runner
    ctx: ServiceContext
    mailer: MailSender | None = None  # built by bootstrap; None only in hand-made Apps
    # One per process: it keeps fonts and templates loaded between renders.
    certificates: CertificateRenderer = field(default_factory=WeasyCertificates)
    badges: BadgeRenderer = field(default_factory=BadgeImages)
    passwords: PasswordHasher = field(default_factory=Argon2Passwords)
    keys: KeyCache = field(default_factory=KeyCache)
    key_uses: KeyUse = field(default_factory=KeyUse)  # when keys were last used, throttled
    # Publishes that signed ahead, committed together (None: each runs alone).
    publisher: PublishQueue | None = None
    webhooking: Webhooking | None = None  # built by bootstrap; None only in hand-made Apps
    webhook_sender: Sender | None = None  # default: HTTP, as the settings allow
    engagement: Recorder | None = None  # built by bootstrap; None only in hand-made Apps
    holder_proofs: HolderProofs = field(default_factory=JwtHolderProofs)  # wallet apps' keys
    # Single sign-on for staff: the protocols, DNS for domain proofs, and the sealer of
    # OpenID Connect client secrets (the master key's KeyVault; None only in hand-made Apps).
    oidc: OidcProtocol = field(default_factory=AuthlibOidc)
    saml: SamlProtocol = field(default_factory=Pysaml2)
    dns: DnsResolver = field(default_factory=DnsTxt)
    sso_sealer: Sealer | None = None

    def webhook_worker(self, name: str) -> WebhookWorker:
        if self.webhooking is None:
            raise RuntimeError("this App was built without webhooks (use bootstrap)")
        sender = self.webhook_sender
        if sender is None:
            from credo.adapters.webhook_sender import HttpSender

            sender = self.webhook_sender = HttpSender(
                allow_private=self.settings.webhook_allow_private_networks
            )
        return WebhookWorker(self.uow, self.webhooking, sender, name)

    def mail_worker(self) -> MailWorker:
        lease = timedelta(seconds=self.settings.mail_lease)
        return MailWorker(
            self.uow,
            self.ctx,
            self.mailer or mail_sender(self.settings),
            self.settings.mail_from,
            lease=lease,
            # A send starts only if it can end inside the lease (an SMTP conversation
            # under its timeouts takes at most minutes).
            send_budget=min(timedelta(minutes=5), lease / 2),
            badges=BadgeArt(self.badges),
        )

    def close(self) -> None:
        if self.publisher is not None:
            self.publisher.close()
        if self.engagement is not None:
            self.engagement.close()
        self.engine.dispose()


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    signer: Signer | None = None,
    verifier: ProofVerifier | None = None,
    migrate: bool = False,
    mailer: MailSender | None = None,
) -> App:
    if settings.metrics:
        from credo import telemetry
        from credo.adapters.metrics import PrometheusSink

        telemetry.install(PrometheusSink())
    engine = engine or make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        prepared_statements=settings.db_prepared_statements,
    )
    if migrate:
        from credo.adapters.db.migrate import upgrade  # Alembic: only when asked

        upgrade(engine)
    clock = clock or SystemClock()
    master_key = _master_key(settings)
    signer = signer or DataIntegritySigner(
        KeyVault(master_key), pool=shared_pool(_signing_processes(settings))
    )
    uow = SqlUnitOfWorkFactory(engine)
    ctx = ServiceContext(
        clock=clock,
        signer=signer,
        base_url=settings.base_url.rstrip("/"),
        verifier=verifier or DataIntegrityVerifier(),
        link_secret=recipient_links.derive_secret(master_key),
        positions=StatusPositions(uow),
        signing=SigningCache(),
    )
    mailer = mailer or mail_sender(settings)
    runner = Runner(uow, clock)
    publisher = PublishQueue(uow, runner, ctx)
    webhooking = Webhooking(
        clock=clock,
        sealer=KeyVault(master_key),
        allow_http=settings.environment == "development",
        allow_private=settings.webhook_allow_private_networks,
    )
    return App(
        settings,
        engine,
        clock,
        uow,
        runner,
        ctx,
        mailer=mailer,
        publisher=publisher,
        webhooking=webhooking,
        passwords=Argon2Passwords(fast=settings.password_hashing == "fast"),
        engagement=Recorder(uow, clock, ctx.base_url, enabled=settings.engagement),
        oidc=AuthlibOidc(settings.sso_ca_bundle, allow_private=settings.sso_allow_private_networks),
        sso_sealer=KeyVault(master_key),
    )


def mail_sender(settings: Settings) -> MailSender:
    """SMTP when a host is set; else the file mailbox. In production that is most likely
    a forgotten setting, but refusing to start would also stop issuing: a warning says it."""
    if settings.smtp_host:
        return SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout,
        )
    if settings.environment == "production":
        logging.getLogger("credo.mail").warning(
            "CREDO_SMTP_HOST is not set: e-mails are written to %s, not sent",
            settings.mailbox_dir,
        )
    return FileMailbox(settings.mailbox_dir)


def _signing_processes(settings: Settings) -> int:
    if settings.signing_processes is not None:
        return settings.signing_processes
    return 1 if (os.cpu_count() or 1) >= 2 else 0


def _master_key(settings: Settings) -> bytes:
    if settings.master_key:
        return parse_master_key(settings.master_key)
    # Settings refuses a missing key outside development.
    return parse_master_key(development_master_key(default_data_dir()))
