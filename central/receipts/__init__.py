"""Reading shopping receipts: OCR of photos, text-layer PDFs, and parsing rows into a draft."""
