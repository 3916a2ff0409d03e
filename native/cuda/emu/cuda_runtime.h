// The emu build's stand-in for the CUDA runtime header (found first on the include path).
#pragma once
#include "emu.h"
