"""Export a data version for other tools: a Hugging Face DatasetDict (on disk or pushed to the
Hub), JSONL and Parquet, in TRL's formats, with a dataset card written from the manifests."""
