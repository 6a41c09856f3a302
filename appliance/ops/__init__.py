"""Site and install tools: pinned model and demo assets, ``leancam doctor``, camera mounting."""
