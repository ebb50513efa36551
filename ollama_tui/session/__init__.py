"""What the app does, without a screen: replies, hosts, models and the library. No Textual.

`Session` bundles one of each for the app; the UI draws what they report (notices and reply
events) and never edits a conversation's fields itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ollama_tui.chat.attachments import Attachment
from ollama_tui.chat.context import (
    Calibration,
    ContextPlan,
    effective_num_ctx,
    plan_request,
    reply_reserve,
)
from ollama_tui.chat.conversation import Conversation, MemoryStrategy
from ollama_tui.config import ConfigError, HostSettings, Settings
from ollama_tui.docs import database_path
from ollama_tui.docs.reference import ConversationDocuments
from ollama_tui.sanitize import one_line
from ollama_tui.session.hosts import Hosts
from ollama_tui.session.library import Library
from ollama_tui.session.models import ModelCatalog
from ollama_tui.session.notices import Notice, Notify
from ollama_tui.session.pools import PoolRouter
from ollama_tui.session.prompt_history import PromptHistory
from ollama_tui.state import save_preferences
from ollama_tui.tools.loop import AskConsent
from ollama_tui.tools.servers import ToolServers


@dataclass
class Session:
    """The app's state below the screen: settings, servers, models, conversations, calibration."""

    settings: Settings
    hosts: Hosts
    router: PoolRouter
    models: ModelCatalog
    library: Library
    calibration: Calibration
    notify: Notify
    prompts: PromptHistory
    documents: ConversationDocuments
    tools: ToolServers | None = None
    """The config's MCP servers, started when a reply first offers their tools."""
    consent: AskConsent | None = field(default=None, repr=False)
    """How the user is asked before a tool runs; no tool runs while it is None."""

    @classmethod
    def open(cls, settings: Settings, notify: Notify) -> Session:
        """Everything the app needs for `settings`; problems are reported through `notify`."""
        hosts = Hosts(settings)
        router = PoolRouter(hosts)
        return cls(
            settings=settings,
            hosts=hosts,
            router=router,
            models=ModelCatalog(hosts, router),
            library=Library(settings, notify),
            calibration=Calibration.load(settings.data_dir / "calibration.json"),
            notify=notify,
            prompts=PromptHistory(settings.state_path.parent / "prompts.json"),
            documents=ConversationDocuments(database_path(settings)),
            tools=ToolServers(settings.mcp, timeout=settings.tools.timeout)
            if settings.mcp
            else None,
        )

    def plan(
        self,
        conversation: Conversation,
        *,
        strategy: MemoryStrategy | None = None,
        draft: str = "",
        draft_attachments: Sequence[Attachment] = (),
        reference: str = "",
        host: HostSettings | None = None,
    ) -> ContextPlan:
        """What the next request would carry, fitted to the model's context window on `host`
        (default: the current one; a pool's hosts may allow different windows), with
        `reference` (retrieved passages, see docs/retrieval.py) counted in; images only for a
        model that takes them."""
        settings = self.settings
        num_ctx = effective_num_ctx(
            conversation.options.num_ctx,
            settings.defaults.options.num_ctx,
            self.models.context_limit(conversation.model, host),
        )
        reserve = reply_reserve(
            num_ctx, conversation.options.num_predict, settings.reply_reserve or None
        )
        return plan_request(
            conversation,
            num_ctx=num_ctx,
            reserve=reserve,
            estimator_for_model=self.calibration.estimator,
            strategy=strategy,
            draft=draft,
            draft_attachments=draft_attachments,
            send_images=self.models.sees_images(conversation.model, host),
            reference=reference,
        )

    def save_preferences(self, **changes: str | bool) -> None:
        """Remember what the user chose (model, theme, panels) in the app's own state file."""
        for name, value in changes.items():
            setattr(self.settings, name, value)
        try:
            save_preferences(self.settings.state_path, **changes)
        except (OSError, ConfigError) as error:
            self.notify(
                Notice(
                    f"Preferences not saved to {self.settings.state_path}: {one_line(str(error))}",
                    "warning",
                )
            )

    def save_calibration(self) -> None:
        """Keep what was learnt about token counts; a write that fails only loses that."""
        try:
            self.calibration.save(self.settings.data_dir / "calibration.json")
        except OSError:
            return

    async def close(self) -> None:
        """Write what is pending and close every connection."""
        self.library.close()
        self.documents.forget()
        await self.hosts.aclose()
        if self.tools is not None:
            await self.tools.aclose()


__all__ = ["Hosts", "Library", "ModelCatalog", "Notice", "Notify", "PoolRouter", "Session"]
