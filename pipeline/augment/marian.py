"""MarianMT through `transformers`: one direction, batched, on the GPU when there is one.

The model is a hub id (Helsinki-NLP/opus-mt-en-es) or a local folder written by
`save_pretrained`; both load through `AutoTokenizer.from_pretrained` and
`AutoModelForSeq2SeqLM.from_pretrained`, so a folder copied from a machine with a hub works
offline. Marian tokenizers need `sentencepiece`. Inputs are sorted by token length so that
each batch pads little; outputs come back in input order. Decoding never samples (greedy,
or beam search with num_beams > 1), so a text always gives the same translation.
"""

from __future__ import annotations

from pipeline.augment.translator import Translations, Translator


class MarianTranslator(Translator):
    def __init__(self, model: str, device: str | None = None, batch_size: int = 32, max_length: int = 256,
                 num_beams: int = 1) -> None:
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        if batch_size < 1 or max_length < 2 or num_beams < 1:
            raise ValueError("batch_size and num_beams must be >= 1, max_length >= 2")
        self.model_name = model
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.batch_size, self.max_length, self.num_beams = batch_size, max_length, num_beams
        # Half precision halves memory and time on a GPU; CPUs run float32.
        dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(model, dtype=dtype).to(self.device).eval()

    def run(self, texts: list[str]) -> Translations:
        import torch

        out = [""] * len(texts)
        truncated = [False] * len(texts)
        todo = [i for i, t in enumerate(texts) if t.strip()]  # blank in, blank out
        if not todo:
            return Translations(out, truncated)
        lengths = {i: len(ids) for i, ids in zip(todo, self.tokenizer([texts[i] for i in todo])["input_ids"])}
        for i, n in lengths.items():
            truncated[i] = n > self.max_length
        order = sorted(todo, key=lambda i: -lengths[i])  # longest first: an out-of-memory shows at once
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                enc = self.tokenizer([texts[i] for i in idx], truncation=True, max_length=self.max_length,
                                     padding=True, return_tensors="pt").to(self.device)
                gen = self.model.generate(**enc, num_beams=self.num_beams, do_sample=False,
                                          max_new_tokens=self.max_length)
                for i, text in zip(idx, self.tokenizer.batch_decode(gen, skip_special_tokens=True)):
                    out[i] = text.strip()
        return Translations(out, truncated)
