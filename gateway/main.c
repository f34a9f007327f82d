/*
 * main.c - the coapgw program. Until the HTTP front end lands this is a
 * placeholder that says what exists so far.
 */
#include "coap_msg.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        puts("coapgw 0.1.0");
        return 0;
    }
    puts("coapgw 0.1.0: the CoAP engine's codec is built; the HTTP gateway is not there yet.");
    puts("Run the tests with README's test command to see what works.");
    return 0;
}
