"""The parameter panel: the conversation's model, system prompt and generation options."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Concatenate, ParamSpec

from textual import on
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.validation import Function, Integer, Number, ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Input, Label, Select, SelectionList, Static, TextArea

from ollama_tui.chat.conversation import Conversation, MemoryStrategy
from ollama_tui.chat.options import (
    OPTION_SPECS,
    STOP_HELP,
    Options,
    OptionSpec,
    format_stop,
    is_keep_alive,
    parse_stop,
)
from ollama_tui.chat.structured import ReplyFormat, SchemaError, parse_format, read_format_file
from ollama_tui.keymap import key_label
from ollama_tui.ui.inert import inert

P = ParamSpec("P")

NO_COLLECTIONS = "none yet (F4)"
KEEP_ALIVE_HELP = 'seconds ("300", "-1" forever) or a duration ("10m", "1h30m")'

THINK_CHOICES: dict[str, tuple[str, bool | str | None]] = {
    "default": ("model default", None),
    "on": ("on", True),
    "off": ("off", False),
    "low": ("low effort", "low"),
    "medium": ("medium effort", "medium"),
    "high": ("high effort", "high"),
}
"""Select values (strings, as Select needs) and the `think` value each one sends."""

FORMAT_CHOICES = {"text": "text", "json": "JSON", "schema": "JSON Schema"}
"""Select values for the reply format: free text, any JSON, or a schema typed below."""
SCHEMA_HELP = "a JSON Schema, or the path of a .json file holding one"

MODELS_LISTED = 200
"""The most models the Model select lists (a server may have very many); the picker finds
the others."""


class MoreModels(Enum):
    """The Model select's last entry when it lists only the first models: open the picker."""

    ENTRY = "more"


MEMORY_LABELS = {
    MemoryStrategy.SUMMARY: "summary of older turns",
    MemoryStrategy.WINDOW: "latest turns that fit",
    MemoryStrategy.FULL: "everything",
}


def _validators(spec: OptionSpec, maximum: float | None) -> list[Validator]:
    kind = Integer if spec.kind is int else Number
    number = kind(minimum=spec.minimum, maximum=maximum, failure_description=spec.describe())
    if maximum is not None and maximum != spec.maximum:
        number.failure_description = f"{spec.describe()}, at most {maximum:g} for this model"
    return [number]


def _once_fields_exist(
    method: Callable[Concatenate[ParameterPanel, P], None],
) -> Callable[Concatenate[ParameterPanel, P], None]:
    """Run the method now if the panel's fields are mounted, else as soon as they are."""

    @functools.wraps(method)
    def run(panel: ParameterPanel, *args: P.args, **kwargs: P.kwargs) -> None:
        if panel._ready:
            method(panel, *args, **kwargs)
        else:
            panel._queued.append(functools.partial(method, panel, *args, **kwargs))

    return run


class ParameterPanel(VerticalScroll, can_focus=False):
    """Edits the open conversation's settings; invalid values are marked and never applied."""

    @dataclass
    class ModelChosen(Message):
        model: str

    class MoreModelsWanted(Message):
        """The user asked for a model the Model select does not list."""

    @dataclass
    class OptionsChanged(Message):
        options: Options

    @dataclass
    class KeepAliveChanged(Message):
        keep_alive: str

    @dataclass
    class ThinkChanged(Message):
        think: bool | str | None

    @dataclass
    class MemoryChanged(Message):
        memory: MemoryStrategy

    @dataclass
    class CollectionsChanged(Message):
        collections: list[str]

    @dataclass
    class SystemPromptChanged(Message):
        system_prompt: str

    @dataclass
    class FormatChanged(Message):
        format: ReplyFormat

    @dataclass
    class ToolsChanged(Message):
        servers: list[str]

    class FieldsMounted(Message):
        """The fields are up (they are mounted after the first frame)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Parameters"
        self._options = Options()
        self._context_limit: int | None = None
        self._model_names: list[str] = []
        self._models_listed: list[str] = []
        """The models the select lists: the first MODELS_LISTED, and the current one."""
        self._model = ""
        self._collection_names: list[str] = []
        self._chosen_collections: list[str] = []
        self._ready = False
        self._queued: list[Callable[[], None]] = []

    def on_mount(self) -> None:
        # The fields are most of the screen's widgets: composing them after the first frame lets
        # the prompt come up sooner. Until then the panel's methods are queued, then replayed.
        self.call_after_refresh(self._mount_fields)

    async def _mount_fields(self) -> None:
        if not self.is_attached:
            return  # the app is quitting (Textual's Select fails to mount while it closes)
        # A Select reports its first value as a change when it mounts: not the user's choice.
        with self.prevent(Select.Changed):  # caught by the fields as they are made
            fields = self._fields()
            await self.mount_all(fields)
        if any(field.parent is not self for field in fields):
            return  # the app is closing and took them down again
        self._ready = True
        for call in self._queued:
            call()
        self._queued.clear()
        self.post_message(self.FieldsMounted())

    @_once_fields_exist
    def focus_first_field(self) -> None:
        """Focus the Model field; a key pressed as the app starts waits for it to exist."""
        self.query_one("#model-select").focus()

    def _fields(self) -> list[Widget]:
        fields: list[Widget] = [
            Label("Model", classes="field-label"),
            Select[str | MoreModels]([], prompt="no model", id="model-select", compact=True),
            Label("Thinking", classes="field-label", id="think-label"),
            Select[str](
                [(label, value) for value, (label, _) in THINK_CHOICES.items()],
                allow_blank=False,
                value="default",
                id="think-select",
                compact=True,
                tooltip="Whether the model reasons before answering (thinking models only)",
            ),
            Label("Memory", classes="field-label"),
            Select[MemoryStrategy](
                [(label, strategy) for strategy, label in MEMORY_LABELS.items()],
                allow_blank=False,
                value=MemoryStrategy.SUMMARY,
                id="memory-select",
                compact=True,
                tooltip="What each request carries once the conversation outgrows the context",
            ),
            Label("System prompt", classes="field-label"),
            TextArea(id="system-prompt", soft_wrap=True, tab_behavior="focus", compact=True),
            Label("Keep loaded", classes="field-label"),
            Input(
                placeholder="server default (5m)",
                id="keep-alive",
                validators=[Function(is_keep_alive, KEEP_ALIVE_HELP)],
                validate_on=["changed", "submitted"],
                valid_empty=True,
                compact=True,
                tooltip="How long Ollama keeps the model in memory after a reply",
            ),
            Static("", id="keep-alive-note", classes="note"),
            Label("Reply format", classes="field-label"),
            Select[str](
                [(label, value) for value, label in FORMAT_CHOICES.items()],
                allow_blank=False,
                value="text",
                id="format-select",
                compact=True,
                tooltip="Free text, any JSON, or JSON that follows a schema (sent as format)",
            ),
            TextArea(id="format-schema", soft_wrap=True, tab_behavior="focus", compact=True),
            Static("", id="format-note", classes="note"),
            Label("Tools (MCP servers)", classes="field-label", id="tools-label"),
            SelectionList[str](id="tools-list", compact=True),
            Static("", id="tools-note", classes="note"),
            Label("Options", classes="field-label"),
        ]
        for spec in OPTION_SPECS:
            field = Input(
                id=spec.name,
                placeholder="default",
                type="integer" if spec.kind is int else "number",
                validators=_validators(spec, spec.maximum),
                validate_on=["changed", "submitted"],
                valid_empty=True,
                compact=True,
                tooltip=f"{spec.help}; {spec.describe()}; empty = the model's default",
            )
            label = Label(spec.label, classes="option-label")
            fields.append(Horizontal(label, field, classes="option-row"))
            fields.append(Static("", id=f"{spec.name}-note", classes="note"))
        stop = Input(
            id="stop",
            placeholder="default",
            compact=True,
            tooltip=f"The reply ends before any of these: {STOP_HELP}; empty = the model's own",
        )
        fields.append(Horizontal(Label("Stop", classes="option-label"), stop, classes="option-row"))
        fields.append(Static("", id="stop-note", classes="note"))
        fields += [
            Label("Documents", classes="field-label"),
            SelectionList[str](id="collections-select", compact=True),
            Static(NO_COLLECTIONS, id="collections-note", classes="note"),
        ]
        return fields

    @_once_fields_exist
    def show_conversation(self, conversation: Conversation) -> None:
        """Fill the fields from a conversation without reporting them as changes."""
        self._options = replace(conversation.options)
        with self.prevent(Input.Changed, TextArea.Changed, Select.Changed):
            for spec in OPTION_SPECS:
                field = self.query_one(f"#{spec.name}", Input)
                value = getattr(conversation.options, spec.name)
                field.value = "" if value is None else f"{value:g}"
                field.remove_class("-invalid")
                self._show_note(spec, None)
            self.query_one("#stop", Input).value = format_stop(conversation.options.stop)
            self._show_stop_problem(None)
            self.query_one("#system-prompt", TextArea).text = conversation.system_prompt
            self.query_one("#memory-select", Select).value = conversation.memory
            self.query_one("#keep-alive", Input).value = conversation.keep_alive
            self.query_one("#keep-alive-note").display = False
            self.set_model(conversation.model)
            self._show_format(conversation.format)
        self.show_tools(conversation.tools)
        self._chosen_collections = list(conversation.collections)
        self.set_collections(self._collection_names)
        self.show_thinking(False, conversation.think)

    def _show_format(self, value: ReplyFormat) -> None:
        choice = "text" if value is None else "json" if value == "json" else "schema"
        self.query_one("#format-select", Select).value = choice
        schema = self.query_one("#format-schema", TextArea)
        schema.display = choice == "schema"
        schema.text = json.dumps(value, indent=2) if isinstance(value, dict) else ""
        self.query_one("#format-note").display = False

    @on(Select.Changed, "#format-select")
    def _format_chosen(self, event: Select.Changed) -> None:
        event.stop()
        schema = self.query_one("#format-schema", TextArea)
        schema.display = event.value == "schema"
        if event.value == "schema":
            self._schema_typed(schema.text)
        else:
            self.query_one("#format-note").display = False
            self.post_message(self.FormatChanged(None if event.value == "text" else "json"))

    @on(TextArea.Changed, "#format-schema")
    def _schema_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._schema_typed(event.text_area.text)

    def _schema_typed(self, text: str) -> None:
        """A schema (or a file's path) typed in: applied when valid, else the reason shown."""
        note = self.query_one("#format-note", Static)
        stripped = text.strip()
        try:
            if not stripped:
                raise SchemaError(f"type {SCHEMA_HELP}")
            schema = (
                read_format_file(Path(stripped).expanduser())
                if not stripped.startswith("{")
                else parse_format(stripped)
            )
        except SchemaError as error:
            note.update(inert(f"✗ {error}; not sent", "$error"))
            note.display = True
            note.add_class("-invalid")
            return
        note.remove_class("-invalid")
        note.update(Content.styled("✓ valid schema", "dim"))
        note.display = True
        self.post_message(self.FormatChanged(schema))

    @_once_fields_exist
    def set_tool_servers(self, names: list[str]) -> None:
        """Offer the MCP servers of the config; the section is hidden when there are none."""
        tools = self.query_one("#tools-list", SelectionList)
        with self.prevent(SelectionList.SelectedChanged):
            tools.clear_options()
            tools.add_options([(inert(name), name) for name in names])
        for widget in (self.query_one("#tools-label"), tools):
            widget.display = bool(names)

    @_once_fields_exist
    def show_tools(self, servers: list[str], note: str = "") -> None:
        """Tick the conversation's servers; `note` says e.g. that the model cannot use them."""
        tools: SelectionList[str] = self.query_one("#tools-list", SelectionList)
        with self.prevent(SelectionList.SelectedChanged):
            tools.deselect_all()
            for name in servers:
                tools.select(name)
        tools_note = self.query_one("#tools-note", Static)
        tools_note.update(inert(note, "$warning"))
        tools_note.display = bool(note)

    @on(SelectionList.SelectedChanged, "#tools-list")
    def _tools_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        event.stop()
        self.post_message(self.ToolsChanged(list(event.selection_list.selected)))

    @_once_fields_exist
    def set_collections(self, names: list[str]) -> None:
        """Offer these document collections, ticking the conversation's; one it names that no
        longer exists stays listed, so it is not dropped silently."""
        self._collection_names = list(names)
        offered = list(dict.fromkeys([*names, *self._chosen_collections]))
        selection: SelectionList[str] = self.query_one("#collections-select", SelectionList)
        with self.prevent(SelectionList.SelectedChanged):
            selection.clear_options()
            selection.add_options(
                (inert(name), name, name in self._chosen_collections) for name in offered
            )
        selection.display = bool(offered)
        selection.tooltip = "Collections searched for each message; their best passages are sent"
        self.query_one("#collections-note").display = not offered

    @on(SelectionList.SelectedChanged, "#collections-select")
    def _collections_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        event.stop()
        self._chosen_collections = list(event.selection_list.selected)
        self.post_message(self.CollectionsChanged(list(self._chosen_collections)))

    @_once_fields_exist
    def show_thinking(self, available: bool, think: bool | str | None) -> None:
        """Offer the thinking switch only for models whose capabilities include thinking."""
        for widget in (self.query_one("#think-label"), self.query_one("#think-select")):
            widget.display = available
        value = next((v for v, (_, t) in THINK_CHOICES.items() if t == think), "default")
        with self.prevent(Select.Changed):
            self.query_one("#think-select", Select).value = value

    @on(Select.Changed, "#think-select")
    def _think_changed(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str):
            self.post_message(self.ThinkChanged(THINK_CHOICES[event.value][1]))

    @_once_fields_exist
    def show_memory(self, memory: MemoryStrategy) -> None:
        with self.prevent(Select.Changed):
            self.query_one("#memory-select", Select).value = memory

    @_once_fields_exist
    def set_models(self, names: list[str], current: str) -> None:
        """Offer these models; the current one stays listed even when the server lacks it."""
        self._model_names = list(dict.fromkeys([*names, current] if current else names))
        self._list_models(current)

    def _list_models(self, current: str) -> None:
        """List the first models, the current one among them, and an entry for the others."""
        listed = self._model_names[:MODELS_LISTED]
        if current and current not in listed:
            listed.append(current)
        self._models_listed = listed
        options: list[tuple[Content, str | MoreModels]] = [(inert(name), name) for name in listed]
        if (hidden := len(self._model_names) - len(listed)) > 0:
            more = f"{hidden:,} more… ({key_label('model.pick')})"
            options.append((Content.styled(more, "dim"), MoreModels.ENTRY))
        select: Select[str | MoreModels] = self.query_one("#model-select", Select)
        with self.prevent(Select.Changed):
            select.set_options(options)
        self._show_model(current)

    @_once_fields_exist
    def set_model(self, model: str) -> None:
        if model and model not in self._model_names:
            self.set_models(self._model_names, model)
        elif model and model not in self._models_listed:
            self._list_models(model)
        else:
            self._show_model(model)

    def _show_model(self, model: str) -> None:
        self._model = model
        select: Select[str | MoreModels] = self.query_one("#model-select", Select)
        with self.prevent(Select.Changed):
            if model:
                select.value = model
            else:
                select.clear()

    @_once_fields_exist
    def set_context_limit(self, limit: int | None) -> None:
        """Show the model's own maximum context and refuse num_ctx values above it."""
        self._context_limit = limit
        spec = next(s for s in OPTION_SPECS if s.name == "num_ctx")
        field = self.query_one("#num_ctx", Input)
        field.validators = _validators(spec, limit)
        self._show_note(spec, None)
        if field.value:
            self._apply(spec, field.validate(field.value), field.value)

    @on(Select.Changed, "#model-select")
    def _model_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is MoreModels.ENTRY:  # the select stays on the model in use
            self._show_model(self._model)
            self.post_message(self.MoreModelsWanted())
        elif isinstance(event.value, str):
            self.post_message(self.ModelChosen(event.value))

    @on(Select.Changed, "#memory-select")
    def _memory_changed(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, MemoryStrategy):
            self.post_message(self.MemoryChanged(event.value))

    @on(TextArea.Changed, "#system-prompt")
    def _system_prompt_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.post_message(self.SystemPromptChanged(event.text_area.text))

    @on(Input.Changed, "#keep-alive")
    def _keep_alive_changed(self, event: Input.Changed) -> None:
        event.stop()
        valid = event.validation_result is None or event.validation_result.is_valid
        note = self.query_one("#keep-alive-note", Static)
        note.display = not valid
        note.set_class(not valid, "-invalid")
        note.update(Content.styled(f"✗ {KEEP_ALIVE_HELP}; not sent", "$error"))
        self.post_message(self.KeepAliveChanged(event.value.strip() if valid else ""))

    @on(Input.Changed, "#stop")
    def _stop_changed(self, event: Input.Changed) -> None:
        event.stop()
        try:
            stop = parse_stop(event.value)
        except ValueError as problem:
            self._show_stop_problem(str(problem))
            stop = None
        else:
            self._show_stop_problem(None)
        if self._options.stop != stop:
            self._options = replace(self._options, stop=stop)
            self.post_message(self.OptionsChanged(replace(self._options)))

    def _show_stop_problem(self, problem: str | None) -> None:
        note = self.query_one("#stop-note", Static)
        note.set_class(problem is not None, "-invalid")
        note.update(Content.styled(f"✗ {problem}; not sent", "$error") if problem else "")
        note.display = problem is not None

    @on(Input.Changed)
    def _option_changed(self, event: Input.Changed) -> None:
        event.stop()
        spec = next((s for s in OPTION_SPECS if s.name == event.input.id), None)
        if spec is not None:
            self._apply(spec, event.validation_result, event.value)

    def _apply(self, spec: OptionSpec, result: ValidationResult | None, text: str) -> None:
        """Apply a typed value; an invalid one is marked and leaves the option unset."""
        valid = result is None or result.is_valid
        self._show_note(spec, None if valid else result.failure_descriptions[0])
        if valid and text.strip() not in ("", "-", "."):
            value: int | float | None = spec.kind(float(text))
        else:
            value = None
        if getattr(self._options, spec.name) != value:
            self._options = replace(self._options, **{spec.name: value})
            self.post_message(self.OptionsChanged(replace(self._options)))

    def _show_note(self, spec: OptionSpec, problem: str | None) -> None:
        """Under a field: what is wrong with it, or for num_ctx the model's own maximum."""
        note = self.query_one(f"#{spec.name}-note", Static)
        note.set_class(problem is not None, "-invalid")
        limit = self._context_limit if spec.name == "num_ctx" else None
        if problem is not None:
            note.update(Content.styled(f"✗ {problem}; not sent", "$error"))
        elif limit:
            note.update(Content.styled(f"max {limit:,} for this model", "dim"))
        note.display = problem is not None or bool(limit)

    @property
    def invalid_fields(self) -> list[str]:
        """Labels of the fields whose typed value is invalid and so not applied."""
        if not self._ready:
            return []  # nothing can have been typed yet
        invalid = [
            spec.label
            for spec in OPTION_SPECS
            if self.query_one(f"#{spec.name}-note", Static).has_class("-invalid")
        ]
        if self.query_one("#keep-alive-note", Static).has_class("-invalid"):
            invalid.append("Keep loaded")
        if self.query_one("#stop-note", Static).has_class("-invalid"):
            invalid.append("Stop")
        return invalid
