"""Parsers of text the audited host holds: logrotate configuration, crontabs, cron commands."""
