"""Patient-facing text about each class, written for this project (not copied from elsewhere).

Keyed by the class code the model outputs (``ecg.classes.SIX_CLASS``); the slug is
used in URLs because "!" is not URL-friendly.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecg.classes import SIX_CLASS


@dataclass(frozen=True)
class ClassPage:
    code: str
    slug: str
    summary: str  # one or two sentences, shown on the result page
    what_it_is: str
    ecg_signs: tuple[str, ...]
    symptoms: str
    see_a_doctor: str

    @property
    def name(self) -> str:
        return next(c.name for c in SIX_CLASS if c.code == self.code)


CLASS_PAGES: tuple[ClassPage, ...] = (
    ClassPage(
        code="L",
        slug="left-bundle-branch-block",
        summary=(
            "The electrical impulse reaches the left ventricle late because the left bundle "
            "branch conducts slowly or not at all, so the beat looks wide and notched."
        ),
        what_it_is=(
            "The heart's impulse travels from the atria to the ventricles along two bundle "
            "branches. In left bundle branch block (LBBB) the left branch is blocked, so the "
            "left ventricle is activated indirectly, muscle cell to muscle cell, from the right. "
            "It is often linked to long-standing high blood pressure, coronary artery disease, "
            "heart-muscle disease or degeneration of the conduction system with age."
        ),
        ecg_signs=(
            "QRS complex of 120 ms or more (wide beat).",
            "Broad, notched or slurred R wave in the lateral leads (I, aVL, V5-V6).",
            "Deep, wide S wave in V1; ST segment and T wave pointing opposite to the QRS.",
        ),
        symptoms=(
            "LBBB itself usually causes no symptoms; symptoms come from the underlying heart "
            "disease (breathlessness, tiredness, swollen ankles, chest pain)."
        ),
        see_a_doctor=(
            "A new LBBB always deserves a medical assessment. With chest pain, breathlessness or "
            "fainting it is an emergency: call emergency services."
        ),
    ),
    ClassPage(
        code="N",
        slug="normal",
        summary=(
            "A normal beat: the impulse starts in the sinus node and spreads through the "
            "normal conduction pathways, giving a narrow QRS complex preceded by a P wave."
        ),
        what_it_is=(
            "In a normal (sinus) beat the heart's natural pacemaker, the sinus node, fires; the "
            "atria contract (P wave), the impulse pauses briefly at the AV node and then spreads "
            "quickly through both bundle branches to the ventricles (narrow QRS complex)."
        ),
        ecg_signs=(
            "A P wave before every QRS complex.",
            "Narrow QRS complex (under about 120 ms).",
            "Regular spacing between beats at 60-100 beats per minute at rest.",
        ),
        symptoms="None: this is the expected pattern of a healthy heartbeat.",
        see_a_doctor=(
            "A single normal beat says nothing about the rest of a recording. If you have "
            "palpitations, chest pain, fainting or breathlessness, see a doctor whatever a tool "
            "says."
        ),
    ),
    ClassPage(
        code="A",
        slug="premature-atrial-contraction",
        summary=(
            "An early beat started by an irritable spot in the atria rather than the sinus "
            "node; the QRS is usually narrow but comes too soon."
        ),
        what_it_is=(
            "A premature atrial contraction (PAC, also atrial premature beat) is an extra beat "
            "triggered early from somewhere in the atria. PACs are very common, also in healthy "
            "people; caffeine, alcohol, stress, lack of sleep and some lung or heart conditions "
            "make them more frequent."
        ),
        ecg_signs=(
            "The beat arrives earlier than expected (short preceding RR interval).",
            "Its P wave looks different from the sinus P waves, or is hidden in the T wave.",
            "Narrow QRS complex, often followed by a short pause.",
        ),
        symptoms=(
            "Often none; some people feel a flutter, a skipped beat or a thump in the chest."
        ),
        see_a_doctor=(
            "See a doctor if extra beats are frequent, come in runs, or come with dizziness, "
            "breathlessness or chest pain: many PACs can precede atrial fibrillation."
        ),
    ),
    ClassPage(
        code="V",
        slug="premature-ventricular-contraction",
        summary=(
            "An early beat started in the ventricles themselves: it has no P wave before it and "
            "a wide, oddly shaped QRS complex."
        ),
        what_it_is=(
            "A premature ventricular contraction (PVC) starts from a spot in the ventricular "
            "muscle instead of coming down the normal pathways, so the ventricles are activated "
            "slowly and in an unusual order. Occasional PVCs are common in healthy hearts; many "
            "of them, or PVCs in a diseased heart, carry more risk."
        ),
        ecg_signs=(
            "Premature, wide QRS complex (120 ms or more) with a bizarre shape.",
            "No related P wave before it.",
            "T wave pointing opposite to the QRS; usually a full compensatory pause after it.",
        ),
        symptoms=(
            "Often none; otherwise a skipped or forceful beat, palpitations, and with very "
            "frequent PVCs tiredness or breathlessness."
        ),
        see_a_doctor=(
            "See a doctor if PVCs are frequent, occur in pairs or runs, or come with fainting, "
            "chest pain or breathlessness, or if you have known heart disease."
        ),
    ),
    ClassPage(
        code="R",
        slug="right-bundle-branch-block",
        summary=(
            "The right ventricle is activated late because the right bundle branch conducts "
            "slowly; the beat is wide with a typical 'rSR′' shape in V1."
        ),
        what_it_is=(
            "In right bundle branch block (RBBB) the impulse cannot use the right bundle branch, "
            "so the right ventricle is activated late, from the left. It can occur in healthy "
            "people, but also with lung disease, pulmonary embolism, congenital heart disease or "
            "after heart surgery."
        ),
        ecg_signs=(
            "QRS complex of 120 ms or more (incomplete RBBB: 110-120 ms).",
            "An rSR′ ('M'-shaped) complex in V1-V2.",
            "A wide, slurred S wave in I and V6.",
        ),
        symptoms="Usually none by itself; symptoms, if any, come from the underlying condition.",
        see_a_doctor=(
            "Have a new RBBB checked by a doctor; sudden breathlessness or chest pain with it "
            "needs emergency care."
        ),
    ),
    ClassPage(
        code="!",
        slug="ventricular-flutter-fibrillation",
        summary=(
            "Ventricular flutter or fibrillation: the ventricles beat so fast or chaotically that "
            "the heart stops pumping blood. A medical emergency."
        ),
        what_it_is=(
            "In ventricular flutter the ventricles are driven at about 250-350 beats per minute "
            "by a rapid circuit; it usually degenerates into ventricular fibrillation, where the "
            "ventricles only quiver. Either way the heart no longer pumps effectively and "
            "cardiac arrest follows within seconds. In the MIT-BIH database these waves occur in "
            "a single record (207), so the model has seen very few examples."
        ),
        ecg_signs=(
            "Flutter: a regular sine-wave pattern with no distinct QRS, T wave or baseline.",
            "Fibrillation: irregular, chaotic waves of varying shape and height.",
            "No recognisable P waves or normal beats.",
        ),
        symptoms="Sudden collapse, loss of consciousness, no pulse and no normal breathing.",
        see_a_doctor=(
            "This is cardiac arrest: call emergency services, start CPR and use a defibrillator "
            "(AED) if one is available. Do not rely on this tool for emergencies."
        ),
    ),
)

BY_CODE: dict[str, ClassPage] = {p.code: p for p in CLASS_PAGES}
BY_SLUG: dict[str, ClassPage] = {p.slug: p for p in CLASS_PAGES}
