"""Printed lot labels: what goes on one, its picture (PNG, PDF) and Grocy's printer webhook."""
