"""Notifications about the household: expiring food, low stock, receipts, offline nodes."""
