"""Explanatory comments for code records, from the record's own prompt or from a causal LM.

`source: prompt` takes the sentences of the record's docstring or request (doctest examples and
parameter lists left out). `placement: blocks` puts each sentence above the statement of the
function whose identifiers share the most words with it (at least `min_overlap`), the rest at the
function's head; `head` puts them all at the head. `source: model` asks a causal LM (SmolLM2 from
the offline package by default, or any local folder or hub id) for one line per top-level
statement block, and keeps its provenance (model fingerprint, prompt template hash, settings).

Comments are new `#` lines, never edits of code: the gate (`comments_only`) checks that the
token stream outside comments is unchanged. Comments go after the docstring, so the part of a
bare-body record that lives in its prompt is never touched.
"""

from __future__ import annotations

import hashlib
import io
import re
import textwrap
import tokenize
from typing import Any, Literal

import libcst as cst
from pydantic import Field

from pipeline.augment.code_ops import CodeAugmenter
from pipeline.config_base import Strict

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(`'\"])")
_WORD = re.compile(r"[a-z]{3,}")
_STOP = frozenset("the and for with that this from are return returns given list value values into of".split())
MODEL_TEMPLATE = ("Write one short comment line (at most 12 words) that explains what this Python code does. "
                  "Answer with the comment text only.\n\n{code}")


class CommentParams(Strict):
    source: Literal["prompt", "model"] = "prompt"
    placement: Literal["blocks", "head"] = Field(default="blocks", description="prompt source: each sentence "
                                                 "above the block it names, or all at the function's head")
    max_sentences: int = Field(default=3, ge=1, le=20)
    min_overlap: int = Field(default=1, ge=1, description="shared words that tie a sentence to a block")
    width: int = Field(default=88, ge=40, description="comment lines are wrapped to this many characters")
    model: str = Field(default="smollm2", description="model source: smollm2 (offline), a folder or a hub id")
    max_blocks: int = Field(default=3, ge=1, description="model source: top-level blocks commented per function")
    max_new_tokens: int = Field(default=24, ge=4, le=128)
    device: Literal["auto", "cpu", "cuda"] = "auto"


def comments_only(before: str, after: str) -> bool:
    """The gate: the two sources have the same tokens once comments and blank lines are set aside."""
    def tokens(source: str) -> list[tuple[int, str]] | None:
        try:
            return [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(source).readline)
                    if t.type not in (tokenize.COMMENT, tokenize.NL)]
        except (tokenize.TokenError, IndentationError, SyntaxError):
            return None

    a = tokens(before)
    return a is not None and a == tokens(after)


def prompt_sentences(prompt: str, limit: int) -> list[str]:
    """The prose sentences of a docstring or request: no doctests, no parameter sections."""
    text = prompt
    try:
        module = cst.parse_module(prompt)
        fn = next((s for s in module.body if isinstance(s, cst.FunctionDef)), None)
        doc = fn.get_docstring(clean=True) if fn is not None else None
        text = doc if doc else prompt
    except cst.ParserSyntaxError:
        pass
    prose = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.strip().splitlines()
        if not lines or lines[0].lstrip().startswith((">>>", ":param", "Args:", "Returns:", "Example", "For example")):
            continue
        if any(ln.lstrip().startswith(">>>") for ln in lines):
            lines = lines[:next(i for i, ln in enumerate(lines) if ln.lstrip().startswith(">>>"))]
        prose.append(" ".join(ln.strip() for ln in lines))
    sentences = [s.strip() for p in prose for s in _SENTENCE.split(p) if len(s.split()) >= 3]
    return [s if s.endswith((".", "!", "?")) else s + "." for s in sentences][:limit]


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in _WORD.findall(text.lower()) if w not in _STOP}


def _identifier_words(node: cst.CSTNode) -> set[str]:
    names: set[str] = set()

    class Collect(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            names.update(re.sub(r"([a-z])([A-Z])", r"\1 \2", n.value).replace("_", " ").split())

    node.visit(Collect())
    return _words(" ".join(names))


def _comment_lines(text: str, width: int) -> list[cst.EmptyLine]:
    text = " ".join(text.split()).replace("\r", "")
    return [cst.EmptyLine(comment=cst.Comment(f"# {line}")) for line in textwrap.wrap(text, max(20, width - 12))]


class _Placer(cst.CSTTransformer):
    """Adds comment lines above the chosen statements (original nodes, by identity)."""

    def __init__(self, notes: dict[int, list[str]], width: int):
        super().__init__()
        self.notes, self.width = notes, width
        self.placed = 0

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):
        updated = super().on_leave(original, updated)
        notes = self.notes.get(id(original))
        if notes and isinstance(updated, cst.BaseStatement):
            lines = [ln for note in notes for ln in _comment_lines(note, self.width)]
            self.placed += len(notes)
            return updated.with_changes(leading_lines=[*updated.leading_lines, *lines])
        return updated


def first_function(module: cst.Module) -> cst.FunctionDef | None:
    found: list[cst.FunctionDef] = []

    class Find(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            if not found:
                found.append(node)
            return False

    module.visit(Find())
    return found[0] if found else None


def code_statements(fn: cst.FunctionDef) -> list[cst.BaseStatement]:
    """The function's top-level statements after its docstring."""
    body = list(fn.body.body) if isinstance(fn.body, cst.IndentedBlock) else []
    if body and fn.get_docstring(clean=False) is not None:
        body = body[1:]
    return body


def _all_statements(statements: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    out: list[cst.BaseStatement] = []

    class Collect(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            if isinstance(n, cst.BaseStatement):
                out.append(n)
            return not isinstance(n, (cst.FunctionDef, cst.ClassDef))

    for s in statements:
        s.visit(Collect())
    return out


def place_by_blocks(fn: cst.FunctionDef, sentences: list[str], min_overlap: int) -> dict[int, list[str]]:
    """Each sentence above the statement sharing the most words with it; ties go to the earliest."""
    statements = code_statements(fn)
    if not statements:
        return {}
    candidates = _all_statements(statements)
    notes: dict[int, list[str]] = {}
    for sentence in sentences:
        words = _words(sentence)
        best, score = statements[0], 0
        for stmt in candidates:
            shared = len(words & _identifier_words(stmt))
            if shared > score:
                best, score = stmt, shared
        target = best if score >= min_overlap else statements[0]
        notes.setdefault(id(target), []).append(sentence)
    return notes


class AddCommentsAugmenter(CodeAugmenter):
    name = "add_comments"

    def __init__(self, params: CommentParams | None = None):
        self.params = params or CommentParams()
        self._lm: Any = None

    def provenance(self) -> dict[str, Any]:
        p = self.params
        if p.source != "model":
            return {"source": "prompt", "placement": p.placement}
        return {"source": "model", "model": p.model, "model_fingerprint": self._model().fingerprint(),
                "template_sha256": hashlib.sha256(MODEL_TEMPLATE.encode()).hexdigest(),
                "max_new_tokens": p.max_new_tokens, "temperature": 0.0}

    def _model(self):
        if self._lm is None:
            from pipeline.score.causal import CausalLM

            self._lm = CausalLM(self.params.model, self.params.device, max_length=512)
        return self._lm

    def edit(self, source: str, seed: int, prompt: str | None) -> tuple[str, dict[str, Any]]:
        module = cst.parse_module(source)
        fn = first_function(module)
        if fn is None or not code_statements(fn):
            return source, {"_unchanged": "no_function"}
        if self.params.source == "model":
            notes = self._model_notes(fn)
        else:
            sentences = prompt_sentences(prompt or "", self.params.max_sentences)
            if not sentences:
                return source, {"_unchanged": "no_prompt_sentences"}
            if self.params.placement == "head":
                notes = {id(code_statements(fn)[0]): sentences}
            else:
                notes = place_by_blocks(fn, sentences, self.params.min_overlap)
        if not notes:
            return source, {"_unchanged": "no_comment"}
        placer = _Placer(notes, self.params.width)
        new = module.visit(placer).code
        return new, {"comments": placer.placed, **self.provenance()}

    def _model_notes(self, fn: cst.FunctionDef) -> dict[int, list[str]]:
        blocks = [s for s in code_statements(fn) if not isinstance(s, cst.SimpleStatementLine)
                  or not isinstance(s.body[0], (cst.Return, cst.Pass))][:self.params.max_blocks]
        module = cst.Module([])
        prompts = [MODEL_TEMPLATE.format(code=module.code_for_node(b).strip()) for b in blocks]
        answers = self._model().generate_chat(prompts, self.params.max_new_tokens) if prompts else []
        notes = {}
        for block, answer in zip(blocks, answers):
            line = answer.strip().strip("`").splitlines()[0].lstrip("# ").strip() if answer.strip() else ""
            if len(line.split()) >= 2:
                notes[id(block)] = [line]
        return notes
