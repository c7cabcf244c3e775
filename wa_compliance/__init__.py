"""wa-compliance: audits a self-hosted WhatsApp Business API on-premises deployment."""

__version__ = "0.1.0"
