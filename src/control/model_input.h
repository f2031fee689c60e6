// The ambient model's input (model/ambient_input.h) from ambitd's store and,
// when known, the reconciler's view of running pods. Shared by the xDS
// publisher (with the view) and the controller's apply warnings (without:
// policy lowering does not depend on pod status).
//
// Pure; the returned input borrows from |state| (and a static "default"
// Namespace), so |state| must outlive it.
#pragma once

#include "control/reconciler.h"
#include "control/store.h"
#include "model/ambient_input.h"

namespace ambit::control {

// |view| may be null: pods then have no runtime status (no IP, Pending).
model::AmbientInput BuildModelInput(const StoreState& state, const RuntimeView* view,
                                    const model::MeshSettings& mesh);

}  // namespace ambit::control
