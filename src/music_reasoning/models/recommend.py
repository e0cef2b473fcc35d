"""Which curated model to use on this machine, and why.

The rule, in the order it is applied:

1. Only curated entries (a Hugging Face source) and their variants with a ``ram``
   figure take part.
2. A variant fits when its ``ram`` (file + a 4096-token KV cache + buffers) is at most
   :data:`HEADROOM` of the memory free now, so the rest of the machine keeps working.
3. Of those that fit, the model with the most parameters wins (a bigger model at Q4_K_M
   explains better than a smaller one at Q8_0); of its variants, the largest that fits
   (Q8_0 when there is room for it, else the default).
4. When nothing fits, the smallest variant is named with how much memory it needs.

A GPU build of llama.cpp (CUDA, Metal, Vulkan, ...) offloads the layers, which makes
larger models fast; the memory rule stays the same (the weights are mapped from RAM
first), so a GPU changes the explanation, not the choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from music_reasoning.models.registry import ModelEntry, Variant, load_registry

__all__ = [
    "HEADROOM",
    "Machine",
    "Recommendation",
    "available_models",
    "curated_models",
    "pull_spec",
    "recommend",
]

HEADROOM = 0.8  # use at most this share of the free memory


@dataclass(frozen=True)
class Machine:
    """What the recommendation depends on."""

    available_memory: int  # bytes free now
    total_memory: int
    gpu_offload: bool  # the installed llama.cpp build can offload layers to a GPU
    backend: str  # cpu, cuda, metal, vulkan, ...

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Recommendation:
    """The suggested ``NAME:VARIANT`` (``None`` when nothing fits) and the reasons."""

    model: str | None
    fits: bool
    ram: int | None
    size: int | None
    license: str | None
    upstream: str | None
    machine: Machine
    reasons: tuple[str, ...]
    alternatives: tuple[str, ...] = ()
    pull: str | None = None  # the ``models pull`` argument that fetches it

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["machine"] = self.machine.to_dict()
        data["reasons"] = list(self.reasons)
        data["alternatives"] = list(self.alternatives)
        return data


def pull_spec(entry: ModelEntry, quantization: str) -> str:
    """What to give ``models pull`` for a curated variant: ``NAME:VARIANT`` (the puller
    fetches the entry's exact file from its Hugging Face source and pins it under NAME)."""
    return f"{entry.name}:{quantization}"


def curated_models() -> list[ModelEntry]:
    """The shipped instruct models with a Hugging Face source, in registry order."""
    return [e for e in load_registry().values() if e.curated]


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def recommend(machine: Machine) -> Recommendation:
    """The best curated model for ``machine`` (see the module docstring for the rule)."""
    budget = int(machine.available_memory * HEADROOM)
    options: list[tuple[ModelEntry, Variant]] = [
        (e, v) for e in curated_models() for v in e.variants.values() if v.ram
    ]
    fitting = [(e, v) for e, v in options if v.ram is not None and v.ram <= budget]
    gpu = (
        f"llama.cpp here is a GPU build ({machine.backend}): layers are offloaded, so "
        "generation is fast even for the larger models."
        if machine.gpu_offload
        else "llama.cpp here is a CPU-only build: expect roughly 5-30 tokens/s for 1-4B "
        "models; a GPU build (CUDA, Metal, Vulkan) would be several times faster."
    )
    if not fitting:
        if not options:
            return Recommendation(
                None, False, None, None, None, None, machine, ("no curated models",)
            )
        entry, variant = min(options, key=lambda ev: ev[1].ram or 0)
        return _choice(
            entry,
            variant,
            machine,
            fits=False,
            reasons=(
                f"{_gib(machine.available_memory)} of memory is free; even the smallest "
                f"curated model, {entry.name}:{variant.quantization}, needs about "
                f"{_gib(variant.ram or 0)} (with {int(HEADROOM * 100)}% of free memory as "
                "the limit). Close other programs, or keep the embedded gemma3-270m.",
                gpu,
            ),
        )
    entry, variant = max(
        fitting, key=lambda ev: (ev[0].parameters or 0, ev[1].ram or 0, ev[0].name)
    )
    ranked = sorted(
        {e.name: e for e, _ in fitting}.values(),
        key=lambda e: e.parameters or 0,
        reverse=True,
    )
    alternatives = tuple(e.name for e in ranked if e.name != entry.name)[:3]
    reasons = [
        f"{_gib(machine.available_memory)} of memory is free (of {_gib(machine.total_memory)}); "
        f"{entry.name}:{variant.quantization} needs about {_gib(variant.ram or 0)} with a "
        f"4096-token context, within the {int(HEADROOM * 100)}% used as the limit.",
        f"It is the largest curated model that fits ({(entry.parameters or 0) / 1e9:.1f}B "
        "parameters): larger models explain more accurately."
        + (
            " Q8_0 fits too, and is closer to the original weights than Q4_K_M."
            if variant.quantization == "Q8_0"
            else ""
        ),
        gpu,
        f"Licence: {entry.license}.",
    ]
    return _choice(
        entry,
        variant,
        machine,
        fits=True,
        reasons=tuple(reasons),
        alternatives=alternatives,
    )


def _choice(
    entry: ModelEntry,
    variant: Variant,
    machine: Machine,
    *,
    fits: bool,
    reasons: tuple[str, ...],
    alternatives: tuple[str, ...] = (),
) -> Recommendation:
    """The recommendation of ``entry``'s ``variant``, with why."""
    return Recommendation(
        model=f"{entry.name}:{variant.quantization}",
        fits=fits,
        ram=variant.ram,
        size=variant.size or variant.approx_size,
        license=entry.license,
        upstream=entry.upstream,
        pull=pull_spec(entry, variant.quantization),
        machine=machine,
        reasons=reasons,
        alternatives=alternatives,
    )


def available_models() -> list[dict[str, Any]]:
    """Every variant of every curated model, installed or not (offline: registry data only)."""
    from music_reasoning.models.store import variant_path

    rows: list[dict[str, Any]] = []
    for entry in curated_models():
        for q, variant in entry.variants.items():
            path = variant_path(entry, variant)
            rows.append(
                {
                    "name": entry.name,
                    "variant": q,
                    "default": q == entry.default_variant,
                    "size": variant.size or variant.approx_size,
                    "size_exact": variant.size is not None,
                    "ram": variant.ram,
                    "parameters": entry.parameters,
                    "license": entry.license,
                    "context_length": entry.context_length,
                    "chat_template": entry.chat_template,
                    "source": entry.upstream,
                    "filename": variant.filename,
                    "pull": pull_spec(entry, q),
                    "installed": path.is_file(),
                    "description": entry.description,
                }
            )
    return rows
