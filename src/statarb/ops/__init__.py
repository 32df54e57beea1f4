"""Operations: the container's entrypoint, its health check, the daily check and backups."""
