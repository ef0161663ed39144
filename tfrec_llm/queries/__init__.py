"""Natural-language requests: request sets, metrics, the TF-IDF baseline, the retriever and its benchmark."""
