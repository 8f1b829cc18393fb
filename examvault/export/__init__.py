"""Rendering papers, answer sheets and marking keys (PDF, DOCX), and sealing them into packages (.evp)."""
