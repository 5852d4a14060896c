"""irstd-lang."""
