"""Compact stop-word lists for French, German and English (and Luxembourgish, for glossary lookups only),
lower-cased and accent-folded.

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

# Luxembourgish function words that open a question with a capital ("Wéi", "Mäi", "Kann"), so that only its
# nouns are looked up in the Luxembourgish glossary. Not in ``BY_LANGUAGE``: full text drops a word that is a
# stop word in any language, and some of these are French or English words that matter ("net", "mat", "no").
LUXEMBOURGISH = _words(
    """
    ech du hien hatt si mir dir mer se et mech dech sech eis iech him hinnen
    main mai meng dain dai deng sain sai seng hiren hir eisen eis are ar
    den d de dat dem der des dee dei dës en e eng ee een keen kee keng
    ass sinn hunn huet hues hutt war waren gouf gi ginn gett kann kennen kanns
    muss mussen soll sollen well wellen wollt mecht maachen
    wei wat wou wien weini wann wa firwat weivill wouhier ob datt well sou esou
    an op am um zu bei vun fir mat ouni geint iwwer enner virun no bis och awer oder
    net nach schonn elo emmer ni jo neen all alles vill villes eppes
    """
)
