"""Operations for a till nobody stands next to: doctor, status, backups, alerts, support bundles."""
