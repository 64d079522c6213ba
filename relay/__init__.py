from .compiled import compiled_folder

# The compiled parser, assembler and COPY rows, when built from the present sources, are found before the pure ones.
_compiled = compiled_folder()
if _compiled is not None:
    __path__.insert(0, str(_compiled))
