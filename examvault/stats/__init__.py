"""Item analysis from exam feedback: classical test theory (`classical`, `options`, `flags`) and IRT.

Pure numpy, no database and no files: the service that reads responses and writes the results
back into item metadata lives elsewhere. Import from the modules themselves
(`examvault.stats.classical`, `examvault.stats.options`, `examvault.stats.flags`).
"""
