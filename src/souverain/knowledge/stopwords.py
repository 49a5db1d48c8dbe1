"""Compact stop-word lists for French, German and English, lower-cased and accent-folded.

Short on purpose: only words that carry no meaning for retrieval (articles, pronouns, auxiliaries,
conjunctions, question words). Words that change a question's meaning ("moins", "sans", "ohne", "before")
stay indexed.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    """A set from whitespace-separated words."""
    return frozenset(text.split())


FRENCH = _words(
    """
    a ai aie aient ait alors as au aucun aussi autre aux avaient avais avait avec avez aviez avoir avons
    ayant c ca car ce ceci cela celle celles celui ces cet cette ceux chaque ci comme comment d dans de
    des donc dont du elle elles en es est et ete etaient etais etait etant etes etre eu eux il ils j je
    jusqu l la le lorsqu les leur leurs lui m ma mais me meme mes moi mon n ne ni nos notre nous on ont
    or ou par pas peu pour pourquoi puisqu qu quand que quel quelle quelles quels qui quoi quoiqu s sa
    se sera seront ses si soit sommes son sont suis sur t ta te tes toi ton tu un une vers voici voila
    vos votre vous y
    """
)

GERMAN = _words(
    """
    aber alle allem allen aller alles als also am an andere anderen auch auf aus bei bin bis bist da
    damit dann das dass dein deine deinem deinen deiner dem den denn der des dich die dies diese diesem
    diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines er es etwa euch euer
    eure fur hab habe haben hat hatte hatten ich ihm ihn ihnen ihr ihre ihrem ihren ihrer im in ist ja
    jede jedem jeden jeder jedes kann konnen mein meine meinem meinen meiner mich mir mit muss mussen
    nach nicht noch nun nur ob oder sehr sein seine seinem seinen seiner sich sie sind so soll sollen
    uber um und uns unser unsere war waren warum was weil welche welchem welchen welcher welches wenn
    wer werde werden wie wieso wir wird wo wurde wurden zu zum zur
    """
)

ENGLISH = _words(
    """
    a about after all also am an and any are as at be because been being but by can could d did do does
    doing for from had has have having he her hers him his how i if in into is it its ll m me my of on
    or our ours re s she should so than that the their theirs them then there these they this those to
    too up ve was we were what when where which who whom why will with would you your yours
    """
)

BY_LANGUAGE: dict[str, frozenset[str]] = {"fr": FRENCH, "de": GERMAN, "en": ENGLISH}
