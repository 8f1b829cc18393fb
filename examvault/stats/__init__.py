"""Item analysis from exam feedback: classical test theory (`classical`, `options`, `flags`) and IRT.

The statistics are pure numpy, no database and no files. `analysis.analyze` runs them all on one
exam and returns an `Analysis`; `report` renders it as a PDF or xlsx; `files` reads the standalone
response files of `examvault stats analyze`. The service that reads responses from the bank and
writes the results back into item metadata lives elsewhere. Import from the modules themselves
(`examvault.stats.classical`, `examvault.stats.analysis`, `examvault.stats.report`, …).
"""
