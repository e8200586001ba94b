"""Small helpers the directory's views share."""


def posted(request):
    """The POST data of a POST (even an empty one, so that it still gets its "required" messages), else None."""
    return request.POST if request.method == "POST" else None
