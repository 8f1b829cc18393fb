"""Rendering papers (PDF now; DOCX and answer sheets to follow) and, later, sealed packages."""
