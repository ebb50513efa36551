"""The models the fake knows: installed by default, pullable, and how /api/show describes one."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
MODEL_NAME = re.compile(
    rf"(?:(?:[A-Za-z0-9][A-Za-z0-9_.-]*(?::\d+)?/)?{_SEGMENT}/)?"
    r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,79})?"
)


@dataclass(frozen=True)
class FakeModel:
    """One installed model; list them newest first, the order /api/tags reports."""

    name: str
    family: str
    parameter_size: str
    quantization: str
    context_length: int
    capabilities: tuple[str, ...]
    size: int
    modified_at: str
    architecture: str = ""  # general.architecture; defaults to the family
    embedding_length: int = 2048
    parameters: tuple[tuple[str, object], ...] = ()
    template: str = "{{ .Prompt }}"
    license: str = ""
    system: str = ""

    @property
    def arch(self) -> str:
        return self.architecture or self.family

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()

    @property
    def layers(self) -> list[tuple[str, int]]:
        """(sha256 hex, bytes) of each blob a pull fetches: weights, template, license, params.

        The blobs add up to `size`, as the layers of a real manifest add up to the size
        /api/tags reports.
        """
        params = json.dumps(dict(self.parameters)) if self.parameters else ""
        small = [
            (hashlib.sha256(blob).hexdigest(), len(blob))
            for text in (self.template, self.license, params)
            if (blob := text.encode())
        ]
        weights = hashlib.sha256(f"{self.name} weights".encode()).hexdigest()
        return [(weights, self.size - sum(size for _, size in small)), *small]

    def details(self, *, with_lengths: bool) -> dict[str, object]:
        """The `details` object; /api/tags adds the context and embedding lengths."""
        details: dict[str, object] = {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization,
        }
        if with_lengths:
            details["context_length"] = self.context_length
            details["embedding_length"] = self.embedding_length
        return details


DEFAULT_MODELS: tuple[FakeModel, ...] = (
    FakeModel(
        name="llama3.2:latest",
        family="llama",
        parameter_size="3.2B",
        quantization="Q4_K_M",
        context_length=131072,
        capabilities=("completion", "tools"),
        size=2019393189,
        modified_at="2025-06-12T09:14:02.117294823-07:00",
        embedding_length=3072,
        parameters=(("stop", ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")),),
        template="<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>"
        "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n"
        "{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n",
        license="LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\nLlama 3.2 Version Release Date: "
        "September 25, 2024",
    ),
    FakeModel(
        name="qwen3:0.6b",
        family="qwen3",
        parameter_size="751.63M",
        quantization="Q4_K_M",
        context_length=40960,
        capabilities=("completion", "tools", "thinking"),
        size=522653767,
        modified_at="2025-05-04T17:37:44.706015396-07:00",
        embedding_length=1024,
        parameters=(
            ("repeat_penalty", 1.0),
            ("stop", ("<|im_start|>", "<|im_end|>")),
            ("temperature", 0.6),
            ("top_k", 20),
            ("top_p", 0.95),
        ),
        template="{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n"
        "{{ end }}<|im_start|>assistant\n",
        license="Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/",
    ),
    FakeModel(
        name="mistral:7b",
        family="llama",
        parameter_size="7.2B",
        quantization="Q4_0",
        context_length=32768,
        capabilities=("completion", "tools"),
        size=4113301824,
        modified_at="2025-03-21T11:02:37.51-07:00",
        embedding_length=4096,
        parameters=(("stop", ("[INST]", "[/INST]")),),
        template="[INST] {{ if .System }}{{ .System }} {{ end }}{{ .Prompt }} [/INST]",
        license="Apache License\nVersion 2.0, January 2004",
    ),
    FakeModel(
        name="nomic-embed-text:latest",
        family="nomic-bert",
        parameter_size="137M",
        quantization="F16",
        context_length=2048,
        capabilities=("embedding",),
        size=274302450,
        modified_at="2024-11-30T08:45:10.003-07:00",
        embedding_length=768,
        parameters=(("num_ctx", 8192),),
        license="Apache License\nVersion 2.0, January 2004",
    ),
)


VISION_MODELS: tuple[FakeModel, ...] = (
    FakeModel(
        name="gemma3:4b",
        family="gemma3",
        parameter_size="4.3B",
        quantization="Q4_K_M",
        context_length=131072,
        capabilities=("completion", "vision"),
        size=3338801804,
        modified_at="2025-04-02T10:00:00-07:00",
        embedding_length=2560,
        parameters=(("stop", ("<end_of_turn>",)), ("temperature", 1.0), ("top_k", 64)),
        template="{{- range .Messages }}<start_of_turn>{{ .Role }}\n{{ .Content }}<end_of_turn>\n"
        "{{ end }}<start_of_turn>model\n",
        license="Gemma Terms of Use\nLast modified: February 21, 2024",
    ),
    FakeModel(
        name="llava:7b",
        family="llama",
        parameter_size="7B",
        quantization="Q4_0",
        context_length=32768,
        capabilities=("completion", "vision"),
        size=4733363377,
        modified_at="2024-12-01T10:00:00-07:00",
        embedding_length=4096,
        parameters=(("stop", ("[INST]", "[/INST]")),),
        template="[INST] {{ if .System }}{{ .System }} {{ end }}{{ .Prompt }} [/INST]",
        license="Apache License\nVersion 2.0, January 2004",
    ),
)
"""Models that take images (`vision`, as /api/show lists it): pullable, and installed where a
test passes them, e.g. FakeOllama(models=[*VISION_MODELS, *DEFAULT_MODELS])."""


PULLABLE_MODELS: tuple[FakeModel, ...] = (
    FakeModel(
        name="gemma3:1b",
        family="gemma3",
        parameter_size="999.89M",
        quantization="Q4_K_M",
        context_length=32768,
        capabilities=("completion",),
        size=815319791,
        modified_at="2025-04-01T10:00:00-07:00",
        embedding_length=1152,
        parameters=(("stop", ("<end_of_turn>",)), ("temperature", 1.0), ("top_k", 64)),
        template="{{- range .Messages }}<start_of_turn>{{ .Role }}\n{{ .Content }}<end_of_turn>\n"
        "{{ end }}<start_of_turn>model\n",
        license="Gemma Terms of Use\nLast modified: February 21, 2024",
    ),
    FakeModel(
        name="phi4-mini:latest",
        family="phi3",
        parameter_size="3.8B",
        quantization="Q4_K_M",
        context_length=131072,
        capabilities=("completion", "tools"),
        size=2491876774,
        modified_at="2025-04-01T10:00:00-07:00",
        embedding_length=3072,
        template="{{- range .Messages }}<|{{ .Role }}|>{{ .Content }}<|end|>{{ end }}<|assistant|>",
        license="Microsoft.\nCopyright (c) Microsoft Corporation.\n\nMIT License",
    ),
    *VISION_MODELS,
    *DEFAULT_MODELS,
)
"""What /api/pull can fetch: models not installed by default, and every default one."""


_FAMILIES = ("llama", "qwen3", "gemma3", "mistral", "phi3")
_QUANTIZATIONS = ("Q4_K_M", "Q4_0", "Q8_0", "F16")
_CAPABILITIES = (
    ("completion",),
    ("completion", "tools"),
    ("completion", "tools", "thinking"),
    ("completion", "vision"),
    ("embedding",),
)


def synthetic_models(count: int) -> list[FakeModel]:
    """`count` made-up installed models, newest first, for a server with very many models.

    Names are `<family>-<n>:<params>` with n = 0..count-1 (n = 0 is the newest, one minute
    apart); sizes are all different, in an order unrelated to age or name.
    """
    newest = datetime(2025, 6, 1, tzinfo=UTC)
    models = []
    for n in range(count):
        family = _FAMILIES[n % len(_FAMILIES)]
        billions = (n * 37) % 70 + 1
        models.append(
            FakeModel(
                name=f"{family}-{n:06d}:{billions}b",
                family=family,
                parameter_size=f"{billions}B",
                quantization=_QUANTIZATIONS[n % len(_QUANTIZATIONS)],
                context_length=4096 << (n % 6),
                capabilities=_CAPABILITIES[n % len(_CAPABILITIES)],
                # 7919 is prime, so n -> n * 7919 mod count is a shuffle: no two sizes alike.
                size=100_000_000 + (n * 7919 % count) * 1_000,
                modified_at=(newest - timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        )
    return models


# --------------------------------------------------------------------------- wire helpers


def canonical_name(name: str) -> str:
    """`name` with its tag, `:latest` when it has none."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def full_name(name: str) -> str:
    """The fully qualified form, registry.ollama.ai/library/NAME:TAG."""
    parts = canonical_name(name).split("/")
    prefix = ["registry.ollama.ai", "library"][: max(0, 3 - len(parts))]
    return "/".join(prefix + parts)


def _go_literal(value: object) -> str:
    """Go's %#v for the values a Modelfile parameter can hold."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def show_answer(model: FakeModel) -> dict[str, object]:
    # One (key, value) per line; list-valued parameters such as `stop` repeat the key.
    flat = [
        (key, item)
        for key, value in model.parameters
        for item in (value if isinstance(value, tuple) else (value,))
    ]
    lines = [f"{key:<30} {_go_literal(item)}" for key, item in flat]
    parameter_count = int(
        float(model.parameter_size[:-1]) * (1e9 if model.parameter_size[-1] == "B" else 1e6)
    )
    arch = model.arch
    model_info = {
        "general.architecture": arch,
        "general.parameter_count": parameter_count,
        "general.quantization_version": 2,
        f"{arch}.block_count": 28,
        f"{arch}.context_length": model.context_length,
        f"{arch}.embedding_length": model.embedding_length,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.tokens": [],
    }
    modelfile = (
        '# Modelfile generated by "ollama show"\n'
        "# To build a new Modelfile based on this, replace FROM with:\n"
        f"# FROM {model.name}\n\n"
        f"FROM /usr/share/ollama/.ollama/models/blobs/sha256-{model.digest}\n"
        f'TEMPLATE """{model.template}"""\n'
        + "".join(f"PARAMETER {key} {item}\n" for key, item in flat)
    )
    answer: dict[str, object] = {}
    if model.license:
        answer["license"] = model.license
    answer["modelfile"] = modelfile
    if lines:
        answer["parameters"] = "\n".join(lines)
    answer["template"] = model.template
    if model.system:
        answer["system"] = model.system
    answer["details"] = model.details(with_lengths=False)
    answer["model_info"] = dict(sorted(model_info.items()))
    if "vision" in model.capabilities:
        answer["projector_info"] = {
            "clip.has_vision_encoder": True,
            "clip.vision.image_size": 896 if model.family == "gemma3" else 336,
            "general.architecture": "clip",
        }
    answer["capabilities"] = list(model.capabilities)
    answer["modified_at"] = model.modified_at
    return answer
