"""Study 2: multimodal product classification (Rakuten France challenge format): data, text model, artefacts."""
