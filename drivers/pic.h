/* The legacy 8259 PICs of the host: Presidio masks them and never uses them. */
#pragma once

void pic_mask_all(void);
