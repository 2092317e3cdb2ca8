"""Files for people: the archive list (``archive``), one case's dossier (``dossier``) and what
every written file shares (``files``: atomic write, formula-safe cells, the suffix check)."""
