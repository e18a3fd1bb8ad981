"""Shared docstring text, written once and filled in where it is used."""


def fill_doc(**blocks):
    """Replace each ``%(name)s`` in a function's docstring by ``blocks[name]``.

    Plain text replacement (braces and percent signs elsewhere in the
    docstring are left alone); a docstring of None, as under ``python -OO``,
    stays None.

    Parameters
    ----------
    **blocks : str
        The text of each placeholder. Lines after the first carry their own
        indentation, that of the docstring they go into.

    Returns
    -------
    decorate : callable
        Takes a function, fills its ``__doc__`` and returns the function.
    """

    def decorate(func):
        doc = func.__doc__
        if doc is not None:
            for name, text in blocks.items():
                doc = doc.replace(f"%({name})s", text)
            func.__doc__ = doc
        return func

    return decorate
