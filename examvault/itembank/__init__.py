"""Items, outlines, versions, the review workflow and the import/export formats."""
