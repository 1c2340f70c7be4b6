/* PCI configuration mechanism #1 (ports 0xcf8/0xcfc) with a host bridge at 00:00.0. */
#pragma once
#include "lib/types.h"

struct vm;
struct pci_host;

#define PCI_CONFIG_ADDRESS_PORT 0xcf8
#define PCI_CONFIG_DATA_PORT 0xcfc

struct pci_host *pci_host_create(struct vm *vm);
