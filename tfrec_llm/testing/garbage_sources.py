"""Files of any bytes, or of any lines under the right header, for every file loader."""

import functools

from hypothesis import strategies as st

from tfrec_llm.data.loaders.tabular_columns import TabularColumns
from tfrec_llm.testing.file_strategies import UTF8_TEXT, WILD_VALUE
from tfrec_llm.testing.loader_invariant import GeneratedSource
from tfrec_llm.testing.movielens_sources import load_directory
from tfrec_llm.testing.tabular_sources import load_users_files


GARBAGE_LAYOUTS = {
    "users_csv": ("events.csv", "items.csv"),
    "ml-100k": ("u.data", "u.item", "u.genre", "u.user"),
    "ml-1m": ("ratings.dat", "movies.dat", "users.dat"),
    "ml-latest": ("ratings.csv", "movies.csv", "tags.csv"),
}
GARBAGE_HEADERS = {
    "events.csv": "user_id,item_id,timestamp\n",
    "items.csv": "item_id,title\n",
    "ratings.csv": "userId,movieId,rating,timestamp\n",
    "movies.csv": "movieId,title,genres\n",
    "tags.csv": "userId,movieId,tag,timestamp\n",
}


@st.composite
def garbage_sources(draw) -> GeneratedSource:
    """Files of any bytes, or of any lines under the right header."""
    kind = draw(st.sampled_from(sorted(GARBAGE_LAYOUTS)))
    files = {}
    for name in GARBAGE_LAYOUTS[kind]:
        lines = st.lists(
            st.one_of(
                UTF8_TEXT,
                st.lists(WILD_VALUE, max_size=5).map(",".join),
                st.lists(WILD_VALUE, max_size=5).map("|".join),
                st.lists(WILD_VALUE, max_size=5).map("\t".join),
                st.lists(WILD_VALUE, max_size=5).map("::".join),
            ),
            max_size=6,
        ).map("\n".join)
        content = draw(st.one_of(st.binary(max_size=60), lines.map(lambda text: text.encode("utf-8"))))
        if name in GARBAGE_HEADERS and draw(st.booleans()):
            content = GARBAGE_HEADERS[name].encode("utf-8") + content
        files[name] = content
    if kind == "users_csv":
        load = functools.partial(load_users_files, TabularColumns(), "events.csv", "items.csv")
    else:
        load = load_directory
    return GeneratedSource(kind="garbage " + kind, files=files, load=load)
