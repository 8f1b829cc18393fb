"""Rendering papers, answer sheets and marking keys (PDF, DOCX); later, sealed packages."""
